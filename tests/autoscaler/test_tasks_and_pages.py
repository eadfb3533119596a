"""The loop through the real worker, the periodic declarations, the commands and the pages."""

from __future__ import annotations

import datetime as dt
import json
import time
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
import time_machine
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django_celery_beat.models import PeriodicTask

from autoscaler import tasks
from autoscaler.models import AgentNode, EnrollmentToken, Pool, PoolEvaluation
from autoscaler.services.nodes import hash_secret
from orchestrator.periodic import ensure_periodic_tasks
from tests.conftest import user_in

WAIT_SECONDS = 60.0
SEED_CONFIG = Path(__file__).parent / "data" / "config.yaml"


def local_pool(name: str, **overrides: Any) -> Pool:
    fields: dict[str, Any] = {
        "name": name,
        "provider": "local",
        "instance_pool_id": name,
        "monitoring_method": "local",
        "cpu_threshold": 100,
        "ram_threshold": 100,
        "min_size": 0,
        "max_size": 0,
    }
    fields.update(overrides)
    pool = Pool(**fields)
    pool.save()
    return pool


def wait_for_evaluations(count: int) -> list[PoolEvaluation]:
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        evaluations = list(PoolEvaluation.objects.order_by("pool__name"))
        if len(evaluations) >= count:
            return evaluations
        time.sleep(0.2)
    raise AssertionError(f"fewer than {count} evaluations after {WAIT_SECONDS} s")


@pytest.mark.django_db(transaction=True)
def test_the_tick_evaluates_every_due_pool_on_the_worker_and_a_broken_one_stops_none(
    celery_worker: Any,
) -> None:
    healthy = local_pool("healthy-local")
    broken = local_pool("broken-local")
    Pool.objects.filter(pk=broken.pk).update(monitoring_method="datadog")

    claimed = tasks.tick.delay().get(timeout=WAIT_SECONDS)
    evaluations = wait_for_evaluations(2)

    assert sorted(claimed) == sorted([healthy.pk, broken.pk])
    by_pool = {evaluation.pool_id: evaluation for evaluation in evaluations}
    assert by_pool[broken.pk].outcome == "error"
    assert by_pool[broken.pk].error == (
        "pool broken-local: unknown monitoring_method 'datadog' (known: oci, prometheus, local)"
    )
    # A quiet machine is "at min" (0), a busy one "no action": either way it was measured.
    assert by_pool[healthy.pk].outcome in {"at_limit", "no_action"}
    assert by_pool[healthy.pk].cpu is not None
    assert tasks.tick.delay().get(timeout=WAIT_SECONDS) == []  # not due again yet


@pytest.mark.django_db
def test_the_autoscaler_declares_its_periodic_tasks() -> None:
    ensure_periodic_tasks()

    declared = {
        task.name: (task.task, task.interval.every)
        for task in PeriodicTask.objects.filter(task__startswith="autoscaler.")
    }
    assert declared == {
        "dagyard: evaluate due pools": ("autoscaler.tick", 30),
        "dagyard: apply pool schedules": ("autoscaler.check_schedules", 60),
        "dagyard: size worker pools": ("autoscaler.scale_worker_pools", 30),
        "dagyard: heartbeat to the backend": ("autoscaler.heartbeat", 60),
        "dagyard: prune old pool evaluations": ("autoscaler.prune_evaluations", 3600),
    }


def run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out, stderr=StringIO())
    return out.getvalue()


@pytest.mark.django_db
def test_pools_import_list_and_export_commands() -> None:
    imported = run("pools", "import", str(SEED_CONFIG))
    listing = json.loads(run("pools", "list", "--json"))
    exported = run("pools", "export")

    assert imported == "created: ocid1.instancepool.oc1...\n1 created, 0 updated, 0 unchanged\n"
    assert listing == [
        {
            "name": "ocid1.instancepool.oc1...",
            "provider": "oci",
            "instance_pool_id": "ocid1.instancepool.oc1...",
            "region": "us-ashburn-1",
            "monitoring_method": "oci",
            "min": 2,
            "max": 10,
            "paused": False,
            "latest": None,
        }
    ]
    assert run("pools", "import", str(SEED_CONFIG)).endswith("0 created, 0 updated, 1 unchanged\n")
    assert "business_hours" in exported


@pytest.mark.django_db
def test_importing_a_bad_file_is_one_line_and_changes_nothing(tmp_path: Path) -> None:
    bad = tmp_path / "config.yaml"
    bad.write_text(SEED_CONFIG.read_text().replace('"oci"', '"datadog"'))

    with pytest.raises(CommandError) as refused:
        run("pools", "import", str(bad))

    assert str(refused.value) == (
        "pool ocid1.instancepool.oc1...: unknown monitoring_method 'datadog' "
        "(known: oci, prometheus, local)"
    )
    assert Pool.objects.count() == 0


@pytest.mark.django_db
def test_pools_evaluate_dry_run_prints_the_decision_and_records_nothing() -> None:
    local_pool("batch")

    output = run("pools", "evaluate", "batch", "--dry-run")

    first_line = output.splitlines()[0]
    assert first_line in {"dry run: batch: at_limit (0 -> 0)", "dry run: batch: no_action (0 -> 0)"}
    assert PoolEvaluation.objects.count() == 0
    with pytest.raises(CommandError, match="^no pool is named 'nope'$"):
        run("pools", "evaluate", "nope")


@pytest.mark.django_db
def test_an_enrollment_token_is_printed_once_and_stored_hashed() -> None:
    token = run("nodes", "enroll-token", "--note", "rack 4").strip()

    row = EnrollmentToken.objects.get()
    assert token.startswith("dye_")
    assert (row.token_hash, row.note, row.max_uses) == (hash_secret(token), "rack 4", 1)
    assert json.loads(run("nodes", "list", "--json")) == []


NOW = dt.datetime(2026, 3, 2, 12, 0, tzinfo=dt.UTC)


@pytest.fixture
def member() -> Client:
    client = Client()
    client.force_login(user_in("viewer"))
    return client


@pytest.mark.django_db
def test_a_signed_in_user_without_a_role_sees_no_autoscaler_page(django_user_model: Any) -> None:
    pool = local_pool("web")
    client = Client()
    client.force_login(django_user_model.objects.create_user("nobody", password="pw-for-tests"))

    for path in ("/autoscaler/pools/", f"/autoscaler/pools/{pool.pk}/", "/autoscaler/nodes/"):
        assert client.get(path).status_code == 403


@pytest.mark.django_db
def test_the_pool_page_draws_size_cpu_and_ram_beside_the_evaluations(member: Client) -> None:
    pool = local_pool("web", max_size=4)
    for minutes, (size, cpu, ram) in enumerate([(1, 20, 30), (2, 85, 40), (3, None, None)]):
        PoolEvaluation.objects.create(
            pool=pool, at=NOW - dt.timedelta(minutes=10 - 5 * minutes), outcome="scale_up",
            reason=f"reason {minutes}", cpu=cpu, ram=ram, size_before=size - 1, size_after=size,
        )  # fmt: skip

    with time_machine.travel(NOW, tick=False):
        page = member.get(f"/autoscaler/pools/{pool.pk}/").content.decode()

    assert '<polyline class="size" points="4.0,118.0 320.0,80.0 636.0,42.0"></polyline>' in page
    assert '<polyline class="cpu" points="4.0,125.6 320.0,26.8"></polyline>' in page
    assert '<polyline class="ram" points="4.0,110.4 320.0,95.2"></polyline>' in page
    assert page.index("reason 2") < page.index("reason 1") < page.index("reason 0")
    assert '<span class="swatch-cpu">■ CPU %: 85</span>' in page
    assert '<span class="swatch-size">■ size: 3</span>' in page


@pytest.mark.django_db
def test_pages_need_a_login(client: Client) -> None:
    pool = local_pool("web")
    AgentNode.objects.create(name="n", api_key_hash="x" * 64)

    for path in ("/autoscaler/pools/", f"/autoscaler/pools/{pool.pk}/", "/autoscaler/nodes/"):
        answer = client.get(path)
        assert answer.status_code == 302
        assert answer["Location"].startswith("/accounts/login/")


@pytest.mark.django_db
def test_the_pool_list_shows_each_pools_latest_outcome(member: Client) -> None:
    pool = local_pool("web")
    PoolEvaluation.objects.create(pool=pool, at=NOW, outcome="at_limit", reason="r",
                                  size_before=0, size_after=0)  # fmt: skip

    page = member.get("/autoscaler/pools/").content.decode()

    assert f'<a href="/autoscaler/pools/{pool.pk}/">web</a>' in page
    assert '<td class="outcome outcome-at_limit">At limit</td>' in page
