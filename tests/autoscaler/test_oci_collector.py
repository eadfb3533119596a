"""The OCI metrics collector through the real ``oci`` SDK, against the loopback stand-in."""

from __future__ import annotations

import datetime as dt

import pytest

from autoscaler.collectors import base as collectors
from autoscaler.collectors.base import (
    Collector,
    InstanceMetrics,
    PoolMetrics,
    UnknownMonitoringMethod,
    collector_for,
)
from autoscaler.collectors.oci import OciMetricsCollector, metric_query
from autoscaler.decision import Outcome, decide
from autoscaler.pool_config import PoolConfig
from autoscaler.providers.base import InvalidCredentials, InvalidPool
from autoscaler.providers.oci import OciInstancePools
from tests.fakes.oci_api import DEFAULT_COMPARTMENT, FakeOciApi

POOL_ID = "ocid1.instancepool.oc1..web"  # the id of the web_pool fixture

CLOCK = dt.datetime(2026, 3, 2, 3, 0, tzinfo=dt.UTC)


@pytest.fixture
def collector(
    fake_oci: FakeOciApi, oci_config: dict[str, str], sleeps: list[float]
) -> OciMetricsCollector:
    return OciMetricsCollector(
        oci_config,
        monitoring_endpoint=fake_oci.endpoint,
        compute_endpoint=fake_oci.endpoint,
        sleep=sleeps.append,
        clock=lambda: CLOCK,
    )


def test_cpu_and_memory_are_averaged_across_the_pools_instances(
    fake_oci: FakeOciApi, collector: OciMetricsCollector, web_pool: PoolConfig
) -> None:
    first, second, third = fake_oci.add_pool(POOL_ID, size=3)
    fake_oci.set_metrics(first, cpu=90, ram=[10, 20, 30])
    fake_oci.set_metrics(second, cpu=60, ram=40)
    fake_oci.set_metrics(third, cpu=[20, 40], ram=60)

    metrics = collector.collect(web_pool)

    assert metrics == PoolMetrics(
        instances=(
            InstanceMetrics(first, cpu=90.0, ram=20.0),
            InstanceMetrics(second, cpu=60.0, ram=40.0),
            InstanceMetrics(third, cpu=30.0, ram=60.0),
        )
    )
    assert (metrics.avg_cpu, metrics.avg_ram) == (60.0, 40.0)
    assert metrics.silent_instances == ()


def test_each_instance_is_queried_in_the_compute_agent_namespace(
    fake_oci: FakeOciApi, collector: OciMetricsCollector, web_pool: PoolConfig
) -> None:
    [instance] = fake_oci.add_pool(POOL_ID, size=1)
    fake_oci.set_metrics(instance, cpu=50, ram=50)

    collector.collect(web_pool)

    queries = fake_oci.calls_to("summarize_metrics_data")
    assert [call.body["query"] for call in queries] == [
        f'CpuUtilization[1m]{{resourceId = "{instance}"}}.mean()',
        f'MemoryUtilization[1m]{{resourceId = "{instance}"}}.mean()',
    ]
    for call in queries:
        assert call.query["compartmentId"] == [DEFAULT_COMPARTMENT]
        assert call.body["namespace"] == "oci_computeagent"
        assert call.body["resolution"] == "1m"
        assert dt.datetime.fromisoformat(call.body["startTime"]) == CLOCK - dt.timedelta(minutes=5)
        assert dt.datetime.fromisoformat(call.body["endTime"]) == CLOCK


def test_a_silent_instance_is_left_out_of_the_averages_and_named(
    fake_oci: FakeOciApi, collector: OciMetricsCollector, web_pool: PoolConfig
) -> None:
    booting, busy = fake_oci.add_pool(POOL_ID, size=2)
    fake_oci.set_metrics(busy, cpu=70, ram=None)

    metrics = collector.collect(web_pool)

    assert (metrics.avg_cpu, metrics.avg_ram) == (70.0, None)
    assert metrics.silent_instances == (booting, busy)


def test_an_empty_pool_has_no_averages(
    fake_oci: FakeOciApi, collector: OciMetricsCollector, web_pool: PoolConfig
) -> None:
    fake_oci.add_pool(POOL_ID, size=0)

    metrics = collector.collect(web_pool)

    assert metrics == PoolMetrics(instances=())
    assert (metrics.avg_cpu, metrics.avg_ram) == (None, None)


def test_a_throttled_metrics_query_is_retried(
    fake_oci: FakeOciApi,
    collector: OciMetricsCollector,
    web_pool: PoolConfig,
    sleeps: list[float],
) -> None:
    [instance] = fake_oci.add_pool(POOL_ID, size=1)
    fake_oci.set_metrics(instance, cpu=85, ram=30)
    fake_oci.fail_next("summarize_metrics_data", 429)

    metrics = collector.collect(web_pool)

    assert (metrics.avg_cpu, metrics.avg_ram) == (85.0, 30.0)
    assert sleeps == [1.0]


def test_refused_credentials_on_monitoring_are_reported(
    fake_oci: FakeOciApi, collector: OciMetricsCollector, web_pool: PoolConfig
) -> None:
    fake_oci.add_pool(POOL_ID, size=1)
    fake_oci.fail_next("summarize_metrics_data", 401)

    with pytest.raises(InvalidCredentials, match=r"summarize_metrics_data\(CpuUtilization\)"):
        collector.collect(web_pool)


def test_collecting_an_unknown_pool_reports_an_invalid_pool(
    collector: OciMetricsCollector, web_pool: PoolConfig
) -> None:
    with pytest.raises(InvalidPool, match="check instance_pool_id and region"):
        collector.collect(web_pool)


def test_metrics_collected_then_decided_then_applied_grow_the_pool(
    fake_oci: FakeOciApi,
    oci_config: dict[str, str],
    collector: OciMetricsCollector,
    web_pool: PoolConfig,
) -> None:
    for instance in fake_oci.add_pool(POOL_ID, size=2):
        fake_oci.set_metrics(instance, cpu=92, ram=40)
    pools = OciInstancePools(oci_config, service_endpoint=fake_oci.endpoint)

    metrics = collector.collect(web_pool)
    decision = decide(
        web_pool,
        current_size=pools.current_size(web_pool),
        cpu=metrics.avg_cpu,
        ram=metrics.avg_ram,
        now=CLOCK,
    )
    assert decision.target_size is not None
    pools.set_size(web_pool, decision.target_size)

    assert (decision.outcome, decision.target_size) == (Outcome.SCALE_UP, 3)
    assert fake_oci.pool_size(POOL_ID) == 3


def test_the_factory_builds_the_oci_collector_from_the_method_name(
    fake_oci: FakeOciApi, oci_config: dict[str, str]
) -> None:
    collector = collector_for(
        "oci",
        config=oci_config,
        monitoring_endpoint=fake_oci.endpoint,
        compute_endpoint=fake_oci.endpoint,
    )

    assert isinstance(collector, OciMetricsCollector)
    assert isinstance(collector, Collector)


def test_the_factory_refuses_an_unknown_method_naming_the_known_ones() -> None:
    with pytest.raises(UnknownMonitoringMethod) as caught:
        collector_for("datadog")

    assert str(caught.value) == collectors.ERR_UNKNOWN_METHOD.format(
        method="datadog", known=", ".join(collectors.registered_methods())
    )
    assert "oci" in collectors.registered_methods()


def test_a_new_method_plugs_in_with_one_registration(
    monkeypatch: pytest.MonkeyPatch, web_pool: PoolConfig
) -> None:
    class Constant:
        def __init__(self, value: float) -> None:
            self.value = value

        def collect(self, pool: PoolConfig) -> PoolMetrics:
            return PoolMetrics(instances=(InstanceMetrics("only", self.value, self.value),))

    monkeypatch.setattr(collectors, "_COLLECTORS", dict(collectors._COLLECTORS))
    collectors.register_collector("constant", Constant)

    collector = collector_for("constant", value=12.5)

    assert collector.collect(web_pool).avg_cpu == 12.5


def test_an_instance_id_that_could_break_the_query_is_refused() -> None:
    with pytest.raises(ValueError, match="cannot be placed in a metric query"):
        metric_query("CpuUtilization", 'x"} || true')
