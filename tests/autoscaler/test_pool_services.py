"""Evaluating pools with the real ``oci`` SDK against the loopback stand-in, and importing them."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from autoscaler.models import Pool, PoolEvaluation
from autoscaler.pool_config import PoolConfigError
from autoscaler.services import pools as pool_services
from autoscaler.services.pools import (
    claim_due_pools,
    evaluate_due_pools,
    evaluate_pool,
    evaluate_schedules,
    export_pools,
    import_pools,
    prune_evaluations,
)
from tests.fakes.oci_api import FakeOciApi

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 3, 2, 3, 0, tzinfo=dt.UTC)  # a Monday, 03:00 UTC
WEB = "ocid1.instancepool.oc1..web"
API = "ocid1.instancepool.oc1..api"


@pytest.fixture(autouse=True)
def oci_environment(
    monkeypatch: pytest.MonkeyPatch, fake_oci: FakeOciApi, oci_config: dict[str, str]
) -> None:
    """OCI credentials as a deployment gives them: environment variables, never the database."""
    for key, name in (("user", "OCI_USER"), ("tenancy", "OCI_TENANCY"),
                      ("fingerprint", "OCI_FINGERPRINT"), ("key_file", "OCI_KEY_FILE"),
                      ("region", "OCI_REGION")):  # fmt: skip
        monkeypatch.setenv(name, oci_config[key])
    monkeypatch.setenv("DAGYARD_OCI_ENDPOINT", fake_oci.endpoint)
    monkeypatch.setenv("DAGYARD_PROVIDER_RETRY_DELAY_SECONDS", "0")


def make_pool(instance_pool_id: str = WEB, **overrides: object) -> Pool:
    fields: dict[str, object] = {
        "name": instance_pool_id.rsplit(".", 1)[-1],
        "provider": "oci",
        "instance_pool_id": instance_pool_id,
        "region": "us-ashburn-1",
        "monitoring_method": "oci",
        "cpu_threshold": 80,
        "ram_threshold": 80,
        "min_size": 1,
        "max_size": 3,
    }
    fields.update(overrides)
    pool = Pool(**fields)
    pool.save()
    return pool


def load(fake: FakeOciApi, pool_id: str, *, size: int, cpu: float, ram: float) -> None:
    for instance in fake.add_pool(pool_id, size=size):
        fake.set_metrics(instance, cpu=cpu, ram=ram)


def test_a_busy_pool_scales_up_by_one_and_the_evaluation_is_recorded(fake_oci: FakeOciApi) -> None:
    load(fake_oci, WEB, size=2, cpu=91, ram=30)
    pool = make_pool()

    evaluation = evaluate_pool(pool, now=NOW)

    assert fake_oci.pool_size(WEB) == 3
    stored = PoolEvaluation.objects.get()
    assert stored == evaluation
    assert (stored.outcome, stored.size_before, stored.size_after) == ("scale_up", 2, 3)
    assert (stored.cpu, stored.ram, stored.error) == (91.0, 30.0, "")
    assert stored.reason == (
        "CPU 91% or RAM 30% above threshold (CPU 80%, RAM 80%): scaling up from 2 to 3"
    )
    assert len(stored.instances) == 2
    assert stored.at == NOW


def test_an_idle_pool_scales_down_by_one(fake_oci: FakeOciApi) -> None:
    load(fake_oci, WEB, size=3, cpu=10, ram=20)

    evaluation = evaluate_pool(make_pool(), now=NOW)

    assert (evaluation.outcome, evaluation.size_after) == ("scale_down", 2)
    assert fake_oci.pool_size(WEB) == 2


def test_a_busy_pool_at_max_is_recorded_at_limit_and_not_resized(fake_oci: FakeOciApi) -> None:
    load(fake_oci, WEB, size=3, cpu=95, ram=95)

    evaluation = evaluate_pool(make_pool(), now=NOW)

    assert evaluation.outcome == "at_limit"
    assert evaluation.reason == (
        "CPU 95% or RAM 95% above threshold (CPU 80%, RAM 80%), but at max instances (3): "
        "cannot scale up"
    )
    assert fake_oci.calls_to("update_instance_pool") == []


def test_an_unknown_pool_is_recorded_as_an_error_without_raising(fake_oci: FakeOciApi) -> None:
    evaluation = evaluate_pool(make_pool(), now=NOW)

    assert evaluation.pk is not None
    assert evaluation.outcome == "error"
    assert evaluation.size_before is None
    assert evaluation.error == (
        f"OCI does not know instance pool {WEB} in region us-ashburn-1 "
        "(404 NotAuthorizedOrNotFound from get_instance_pool): "
        "check instance_pool_id and region"
    )
    assert evaluation.reason == f"evaluation failed: {evaluation.error}"


def test_refused_credentials_are_recorded_as_an_error(fake_oci: FakeOciApi) -> None:
    load(fake_oci, WEB, size=2, cpu=50, ram=50)
    fake_oci.fail_next("get_instance_pool", 401)

    evaluation = evaluate_pool(make_pool(), now=NOW)

    assert evaluation.outcome == "error"
    assert evaluation.error.startswith("OCI refused the credentials (401 NotAuthenticated)")


def test_a_failed_resize_after_retries_is_recorded_with_the_metrics_seen(
    fake_oci: FakeOciApi,
) -> None:
    load(fake_oci, WEB, size=2, cpu=99, ram=10)
    fake_oci.fail_next("update_instance_pool", 503, times=3)

    evaluation = evaluate_pool(make_pool(), now=NOW)

    assert evaluation.outcome == "error"
    assert (evaluation.size_before, evaluation.size_after) == (2, 2)
    assert (evaluation.cpu, evaluation.ram) == (99.0, 10.0)
    assert evaluation.error == (
        "could not set the size from 2 to 3: OCI kept failing update_instance_pool on pool web "
        "(503) after 3 attempts; giving up until the next evaluation"
    )
    assert len(fake_oci.calls_to("update_instance_pool")) == 3
    assert fake_oci.pool_size(WEB) == 2


def test_a_busy_then_transient_answer_is_retried_and_the_pool_still_scales(
    fake_oci: FakeOciApi,
) -> None:
    load(fake_oci, WEB, size=1, cpu=99, ram=10)
    fake_oci.fail_next("update_instance_pool", 429)

    evaluation = evaluate_pool(make_pool(), now=NOW)

    assert evaluation.outcome == "scale_up"
    assert fake_oci.pool_size(WEB) == 2


def test_missing_metrics_hold_the_size_and_say_so(fake_oci: FakeOciApi) -> None:
    fake_oci.add_pool(WEB, size=2)

    evaluation = evaluate_pool(make_pool(), now=NOW)

    assert evaluation.outcome == "hold_missing_metrics"
    assert evaluation.reason == "metrics missing (CPU missing, RAM missing); holding size at 2"


def test_a_dry_run_decides_but_changes_and_records_nothing(fake_oci: FakeOciApi) -> None:
    load(fake_oci, WEB, size=2, cpu=91, ram=30)

    evaluation = evaluate_pool(make_pool(), now=NOW, dry_run=True)

    assert (evaluation.outcome, evaluation.size_after, evaluation.pk) == ("scale_up", 3, None)
    assert fake_oci.pool_size(WEB) == 2
    assert fake_oci.calls_to("update_instance_pool") == []
    assert PoolEvaluation.objects.count() == 0


def test_sustained_breaches_count_recorded_evaluations(fake_oci: FakeOciApi) -> None:
    load(fake_oci, WEB, size=1, cpu=95, ram=10)
    pool = make_pool(sustained_breaches=2)

    first = evaluate_pool(pool, now=NOW)
    second = evaluate_pool(pool, now=NOW + dt.timedelta(minutes=5))

    assert (first.outcome, second.outcome) == ("breach_pending", "scale_up")
    assert fake_oci.pool_size(WEB) == 2


def test_a_cooldown_after_scaling_up_holds_the_next_scale_up(fake_oci: FakeOciApi) -> None:
    load(fake_oci, WEB, size=1, cpu=95, ram=10)
    pool = make_pool(scale_up_cooldown_seconds=600)

    outcomes = [
        evaluate_pool(pool, now=NOW + dt.timedelta(minutes=minutes)).outcome
        for minutes in (0, 5, 10)
    ]

    assert outcomes == ["scale_up", "cooldown", "scale_up"]
    assert fake_oci.pool_size(WEB) == 3


def test_one_failing_pool_does_not_stop_the_others(fake_oci: FakeOciApi) -> None:
    load(fake_oci, API, size=1, cpu=95, ram=95)
    broken = make_pool(WEB)  # the stand-in has no such pool: 404
    healthy = make_pool(API)

    evaluations = evaluate_due_pools(now=NOW)

    assert {(e.pool_id, e.outcome) for e in evaluations} == {
        (broken.pk, "error"),
        (healthy.pk, "scale_up"),
    }
    assert fake_oci.pool_size(API) == 2


def test_a_pool_is_due_once_per_interval_and_claimed_by_one_tick_only() -> None:
    pool = make_pool(evaluation_interval_seconds=300)

    first = claim_due_pools(now=NOW)
    again = claim_due_pools(now=NOW + dt.timedelta(seconds=30))
    later = claim_due_pools(now=NOW + dt.timedelta(seconds=300))

    assert (first, again, later) == ([pool.pk], [], [pool.pk])


def test_the_schedule_drives_the_pool_to_its_target_in_one_step(fake_oci: FakeOciApi) -> None:
    load(fake_oci, WEB, size=1, cpu=10, ram=10)
    schedule = {"name": "night_batch", "start_time": "02:00", "end_time": "04:00",
                "target_instances": 3}  # fmt: skip
    make_pool(schedules=[schedule])

    [evaluation] = evaluate_schedules(now=NOW)
    again = evaluate_schedules(now=NOW + dt.timedelta(minutes=1))
    metric_round = evaluate_pool(Pool.objects.get(), now=NOW + dt.timedelta(minutes=2))

    assert (evaluation.source, evaluation.outcome) == ("schedule", "scale_up")
    assert (evaluation.size_before, evaluation.size_after) == (1, 3)
    assert (
        evaluation.reason == "scheduler active: schedule 'night_batch' raises the pool from 1 to 3"
    )
    assert again == []
    assert metric_round.outcome == "skipped_schedule"
    assert fake_oci.pool_size(WEB) == 3


def test_pools_outside_every_window_are_left_to_metric_scaling(fake_oci: FakeOciApi) -> None:
    schedule = {"name": "day", "start_time": "08:00", "end_time": "18:00", "target_instances": 2}
    make_pool(schedules=[schedule])

    assert evaluate_schedules(now=NOW) == []
    assert fake_oci.calls == []


SEED_CONFIG = Path(__file__).parent / "data" / "config.yaml"


def test_the_seed_config_yaml_imports_unchanged_and_exports_back() -> None:
    report = import_pools(SEED_CONFIG.read_text())

    pool = Pool.objects.get()
    assert report.created == ["ocid1.instancepool.oc1..."]
    assert (pool.name, pool.region, pool.min_size, pool.max_size) == (
        "ocid1.instancepool.oc1...", "us-ashburn-1", 2, 10,
    )  # fmt: skip
    assert pool.schedules == [{"name": "business_hours", "start_time": "08:00",
                               "end_time": "18:00", "target_instances": 5}]  # fmt: skip
    assert import_pools(export_pools()).unchanged == ["ocid1.instancepool.oc1..."]


def test_importing_again_updates_changed_pools_and_keeps_the_rest() -> None:
    import_pools(SEED_CONFIG.read_text())
    Pool.objects.update(next_evaluation_at=NOW)

    report = import_pools(SEED_CONFIG.read_text().replace("cpu_threshold: 80", "cpu_threshold: 70"))

    pool = Pool.objects.get()
    assert (report.updated, pool.cpu_threshold, pool.next_evaluation_at) == (
        ["ocid1.instancepool.oc1..."], 70.0, None,
    )  # fmt: skip


def test_a_file_with_one_bad_pool_is_refused_whole_and_changes_nothing() -> None:
    import_pools(SEED_CONFIG.read_text())
    before = list(Pool.objects.values())
    text = (
        "pools:\n"
        "  - {name: good, instance_pool_id: ocid1.instancepool.oc1..good, region: r,\n"
        "     monitoring_method: oci, cpu_threshold: 80, ram_threshold: 80,\n"
        "     scaling_limits: {min: 1, max: 2}}\n"
        "  - {name: bad, instance_pool_id: ocid1.instancepool.oc1..bad, region: r,\n"
        "     monitoring_method: datadog, cpu_threshold: 80, ram_threshold: 80,\n"
        "     scaling_limits: {min: 1, max: 2}}\n"
    )

    with pytest.raises(PoolConfigError) as refused:
        import_pools(text)

    assert str(refused.value) == (
        "pool bad: unknown monitoring_method 'datadog' (known: oci, prometheus, local)"
    )
    assert list(Pool.objects.values()) == before


def test_an_unexpected_failure_is_recorded_and_the_loop_goes_on(
    fake_oci: FakeOciApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    load(fake_oci, API, size=1, cpu=50, ram=50)
    pool = make_pool(API)
    Pool.objects.filter(pk=pool.pk).update(monitoring_method="datadog")  # bypasses validation

    [evaluation] = evaluate_due_pools(now=NOW)

    assert evaluation.outcome == "error"
    assert evaluation.error == (
        "pool api: unknown monitoring_method 'datadog' (known: oci, prometheus, local)"
    )
    assert pool_services.EVALUATION_ERRORS


def test_old_evaluations_are_pruned_but_each_pools_latest_is_kept() -> None:
    quiet, busy = make_pool(WEB), make_pool(API)
    for pool, days in ((quiet, 40), (busy, 40), (busy, 35), (busy, 1)):
        PoolEvaluation.objects.create(pool=pool, at=NOW - dt.timedelta(days=days),
                                      outcome="no_action", reason=f"{days} days ago")  # fmt: skip

    deleted = prune_evaluations(now=NOW, keep_days=30)

    assert deleted == 2
    assert sorted(PoolEvaluation.objects.values_list("pool__name", "reason")) == [
        ("api", "1 days ago"),
        ("web", "40 days ago"),
    ]
