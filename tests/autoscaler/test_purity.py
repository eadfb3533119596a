"""The autoscaler's core stays free of Django and Celery, checked by machine, not by memory."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

CORE_MODULES = (
    "autoscaler.pool_config",
    "autoscaler.decision",
    "autoscaler.schedules",
    "autoscaler.queue_scaling",
    "autoscaler.collectors.base",
    "autoscaler.collectors.oci",
    "autoscaler.providers.base",
    "autoscaler.providers.oci",
)


def test_the_core_modules_import_neither_django_nor_celery() -> None:
    program = (
        "import importlib, sys\n"
        f"for name in {CORE_MODULES!r}:\n"
        "    importlib.import_module(name)\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'django', 'celery', 'kombu'}))\n"
    )

    result = subprocess.run(
        [sys.executable, "-c", program], cwd=REPO, capture_output=True, text=True, check=True
    )

    assert result.stdout.strip() == "[]"


def test_choosing_a_collector_does_not_import_a_cloud_sdk() -> None:
    program = (
        "import sys, autoscaler.collectors.base, autoscaler.decision, autoscaler.schedules\n"
        "print('oci' in sys.modules)\n"
    )

    result = subprocess.run(
        [sys.executable, "-c", program], cwd=REPO, capture_output=True, text=True, check=True
    )

    assert result.stdout.strip() == "False"
