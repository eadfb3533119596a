"""What one evaluation round costs the cloud and the database, with the same decisions as before.

An OCI evaluation reads the instance pool once (its compartment lists the instances, its size
feeds the decision), never keeps that reading for the next round, and reads the pool's history in
a number of queries that does not grow with the history: none at all with the seed's rules.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from autoscaler.cloud_access import provider_for
from autoscaler.models import Pool, PoolEvaluation
from autoscaler.pool_config import PoolConfig
from autoscaler.services.pools import evaluate_due_pools, evaluate_pool
from autoscaler.states import EvaluationSource
from tests.fakes.oci_api import FakeOciApi

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 3, 2, 3, 0, tzinfo=dt.UTC)
WEB = "ocid1.instancepool.oc1..web"
API = "ocid1.instancepool.oc1..api"
BATCH = "ocid1.instancepool.oc1..batch"
FIVE_MINUTES = dt.timedelta(minutes=5)


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
        "max_size": 6,
    }
    fields.update(overrides)
    pool = Pool(**fields)
    pool.save()
    return pool


def load(fake: FakeOciApi, pool_id: str, *, size: int, cpu: float, ram: float) -> None:
    for instance in fake.add_pool(pool_id, size=size):
        fake.set_metrics(instance, cpu=cpu, ram=ram)


def routes(fake: FakeOciApi) -> Counter[str]:
    return Counter(call.route for call in fake.calls)


def add_quiet_history(pool: Pool, *, rounds: int, before: dt.datetime) -> None:
    """``rounds`` earlier metric rounds that decided nothing, one every five minutes."""
    PoolEvaluation.objects.bulk_create(
        PoolEvaluation(
            pool=pool,
            at=before - FIVE_MINUTES * (index + 1),
            source=EvaluationSource.METRICS,
            outcome="no_action",
            reason="quiet",
            size_before=2,
            size_after=2,
        )
        for index in range(rounds)
    )


def test_an_evaluation_reads_the_instance_pool_once_and_still_scales_up(
    fake_oci: FakeOciApi,
) -> None:
    load(fake_oci, WEB, size=2, cpu=91, ram=30)

    evaluation = evaluate_pool(make_pool(), now=NOW)

    assert (evaluation.outcome, evaluation.size_before, evaluation.size_after) == (
        "scale_up", 2, 3,
    )  # fmt: skip
    assert fake_oci.pool_size(WEB) == 3
    assert routes(fake_oci) == {
        "get_instance_pool": 1,
        "list_instance_pool_instances": 1,
        "summarize_metrics_data": 4,  # CPU and RAM of two instances
        "update_instance_pool": 1,
    }


def test_the_next_round_reads_the_pool_again_and_sees_its_new_size(fake_oci: FakeOciApi) -> None:
    load(fake_oci, WEB, size=2, cpu=91, ram=30)
    pool = make_pool()

    first = evaluate_pool(pool, now=NOW)
    fake_oci.add_pool(WEB, size=5)  # someone resized it by hand between the rounds
    second = evaluate_pool(pool, now=NOW + FIVE_MINUTES)

    assert (first.size_before, first.size_after) == (2, 3)
    assert (second.outcome, second.size_before) == ("hold_missing_metrics", 5)
    assert routes(fake_oci)["get_instance_pool"] == 2


def test_a_view_for_one_evaluation_reads_again_after_it_resizes(
    fake_oci: FakeOciApi, web_pool: PoolConfig
) -> None:
    fake_oci.add_pool(web_pool.instance_pool_id, size=2)
    view = provider_for(web_pool, one_evaluation=True)

    sizes = [view.current_size(web_pool), view.current_size(web_pool)]
    view.set_size(web_pool, 4)
    sizes.append(view.current_size(web_pool))

    assert sizes == [2, 2, 4]
    assert routes(fake_oci)["get_instance_pool"] == 2


def test_the_shared_provider_never_answers_from_memory(
    fake_oci: FakeOciApi, web_pool: PoolConfig
) -> None:
    fake_oci.add_pool(web_pool.instance_pool_id, size=2)
    provider = provider_for(web_pool)

    before = provider.current_size(web_pool)
    fake_oci.add_pool(web_pool.instance_pool_id, size=4)

    assert (before, provider.current_size(web_pool)) == (2, 4)


def test_with_the_seed_rules_an_evaluation_makes_one_query_however_long_the_history(
    fake_oci: FakeOciApi,
) -> None:
    load(fake_oci, WEB, size=3, cpu=10, ram=20)
    pool = make_pool()
    add_quiet_history(pool, rounds=50, before=NOW)

    with CaptureQueriesContext(connection) as captured:
        evaluation = evaluate_pool(pool, now=NOW)

    assert (evaluation.outcome, evaluation.size_after) == ("scale_down", 2)
    assert [query["sql"].split()[0] for query in captured.captured_queries] == ["INSERT"]


@pytest.mark.parametrize("earlier_rounds", [0, 50])
def test_breach_and_cooldown_rules_read_the_history_in_two_queries_whatever_its_length(
    fake_oci: FakeOciApi, earlier_rounds: int
) -> None:
    load(fake_oci, WEB, size=2, cpu=91, ram=30)
    pool = make_pool(sustained_breaches=2, scale_up_cooldown_seconds=900)
    add_quiet_history(pool, rounds=earlier_rounds, before=NOW)

    outcomes, queries = [], []
    for index in range(5):
        with CaptureQueriesContext(connection) as captured:
            evaluation = evaluate_pool(pool, now=NOW + FIVE_MINUTES * index)
        outcomes.append(evaluation.outcome)
        queries.append(len(captured.captured_queries))

    assert outcomes == ["breach_pending", "scale_up", "breach_pending", "cooldown", "scale_up"]
    assert queries == [3] * 5  # the recent rounds, the last resize, the new record
    assert fake_oci.pool_size(WEB) == 4


def test_a_round_costs_each_pool_the_same_calls_and_queries_whatever_it_decides(
    fake_oci: FakeOciApi,
) -> None:
    load(fake_oci, WEB, size=2, cpu=91, ram=30)
    load(fake_oci, API, size=3, cpu=10, ram=20)
    load(fake_oci, BATCH, size=2, cpu=60, ram=55)
    for pool_id in (WEB, API, BATCH):
        make_pool(pool_id)

    with CaptureQueriesContext(connection) as captured:
        evaluations = evaluate_due_pools(now=NOW)

    decided = {(e.pool.name, e.outcome, e.size_before, e.size_after) for e in evaluations}
    assert decided == {
        ("web", "scale_up", 2, 3),
        ("api", "scale_down", 3, 2),
        ("batch", "no_action", 2, 2),
    }
    assert routes(fake_oci) == {
        "get_instance_pool": 3,
        "list_instance_pool_instances": 3,
        "summarize_metrics_data": 14,
        "update_instance_pool": 2,
    }
    # One query finds the due pools; then each pool is claimed, loaded and recorded.
    assert len(captured.captured_queries) == 1 + 3 * 3
