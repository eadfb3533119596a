"""Several processes write one SQLite database at once without "database is locked"."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest
from django.contrib.auth.models import Group

from tests.conftest import REPO_ROOT, process_environment

pytestmark = pytest.mark.django_db(transaction=True)

# Read, then write, in one transaction: the pattern that fails on a plain SQLite setup when a
# reader's lock cannot be upgraded while another process writes.
WRITER = textwrap.dedent(
    """
    import sys, django
    django.setup()
    from django.contrib.auth.models import Group
    from django.db import transaction
    tag = sys.argv[1]
    for index in range(150):
        with transaction.atomic():
            Group.objects.filter(name__startswith=tag).count()
            Group.objects.create(name=f"{tag}-{index}")
    print("done", tag)
    """
)


def test_three_processes_writing_at_once_all_succeed(test_database_url):
    env = process_environment(
        DATABASE_URL=test_database_url, DJANGO_SETTINGS_MODULE="orchestrator.settings"
    )
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, tag],
            cwd=REPO_ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )  # fmt: skip
        for tag in ("alpha", "beta", "gamma")
    ]
    outputs = [writer.communicate(timeout=120) for writer in writers]
    for writer, (_out, err) in zip(writers, outputs, strict=True):
        assert writer.returncode == 0, err
        assert "database is locked" not in err
    for tag in ("alpha", "beta", "gamma"):  # the role groups may be there too, or flushed
        assert Group.objects.filter(name__startswith=f"{tag}-").count() == 150
