"""CPU and memory of an OCI instance pool, from the Monitoring service's compute agent metrics.

For each instance in the pool, ``CpuUtilization`` and ``MemoryUtilization`` (namespace
``oci_computeagent``) are summarised at one-minute resolution over the last few minutes, and the
instance's value is the mean of those points: a single spike between two evaluations does not
decide alone, and an instance that is still booting (no points yet) is counted as silent.
"""

from __future__ import annotations

import copy
import datetime as dt
import re
import time
from collections.abc import Callable, Mapping
from typing import Any

import oci

from autoscaler.collectors.base import InstanceMetrics, PoolMetrics
from autoscaler.pool_config import PoolConfig
from autoscaler.providers.base import Instance, RetryPolicy
from autoscaler.providers.oci import (
    DEFAULT_TIMEOUT,
    OciInstancePools,
    call_oci,
    region_config,
    sdk_client_options,
    validated_config,
)

NAMESPACE = "oci_computeagent"
CPU_METRIC = "CpuUtilization"
MEMORY_METRIC = "MemoryUtilization"
RESOLUTION = "1m"
DEFAULT_WINDOW = dt.timedelta(minutes=5)

ERR_UNSAFE_ID = "instance id {value!r} cannot be placed in a metric query"

_OCID = re.compile(r"^[A-Za-z0-9._:-]+$")


def metric_query(metric: str, instance_id: str) -> str:
    """The Monitoring Query Language text for one metric of one instance."""
    if not _OCID.match(instance_id):
        raise ValueError(ERR_UNSAFE_ID.format(value=instance_id))
    return f'{metric}[{RESOLUTION}]{{resourceId = "{instance_id}"}}.mean()'


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class OciMetricsCollector:
    """The ``oci`` monitoring method: per-instance metrics through ``MonitoringClient``."""

    def __init__(
        self,
        config: Mapping[str, Any],
        *,
        monitoring_endpoint: str | None = None,
        compute_endpoint: str | None = None,
        pools: OciInstancePools | None = None,
        window: dt.timedelta = DEFAULT_WINDOW,
        retry: RetryPolicy = RetryPolicy(),  # noqa: B008 - frozen, so sharing the default is safe
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], dt.datetime] = _utc_now,
        timeout: tuple[float, float] = DEFAULT_TIMEOUT,
    ) -> None:
        self._config = validated_config(config)
        self._pools = pools or OciInstancePools(
            config, service_endpoint=compute_endpoint, retry=retry, sleep=sleep, timeout=timeout
        )
        self._monitoring_endpoint = monitoring_endpoint
        self._window = window
        self._retry = retry
        self._sleep = sleep
        self._clock = clock
        self._timeout = timeout
        self._clients: dict[str, oci.monitoring.MonitoringClient] = {}

    def with_pools(self, pools: OciInstancePools) -> OciMetricsCollector:
        """This collector listing instances through ``pools``, typically the provider's view for
        one evaluation (:meth:`OciInstancePools.for_one_evaluation`), so that the pool record
        read to find the instances also gives the evaluation its size. Clients are shared."""
        view = copy.copy(self)
        view._pools = pools
        return view

    def collect(self, pool: PoolConfig) -> PoolMetrics:
        """Measure every instance of ``pool``; OCI failures raise the provider's errors."""
        end = self._clock()
        start = end - self._window
        return PoolMetrics(
            instances=tuple(
                InstanceMetrics(
                    instance_id=instance.id,
                    cpu=self._instance_mean(pool, instance, CPU_METRIC, start, end),
                    ram=self._instance_mean(pool, instance, MEMORY_METRIC, start, end),
                )
                for instance in self._pools.list_instances(pool)
            )
        )

    def _instance_mean(
        self,
        pool: PoolConfig,
        instance: Instance,
        metric: str,
        start: dt.datetime,
        end: dt.datetime,
    ) -> float | None:
        client = self._client(pool)
        details = oci.monitoring.models.SummarizeMetricsDataDetails(
            namespace=NAMESPACE,
            query=metric_query(metric, instance.id),
            start_time=start,
            end_time=end,
            resolution=RESOLUTION,
        )
        response = call_oci(
            lambda: client.summarize_metrics_data(instance.compartment_id, details),
            pool=pool,
            operation=f"summarize_metrics_data({metric})",
            policy=self._retry,
            sleep=self._sleep,
        )
        values = [
            point.value
            for series in response.data
            for point in series.aggregated_datapoints or ()
            if point.value is not None
        ]
        return sum(values) / len(values) if values else None

    def _client(self, pool: PoolConfig) -> oci.monitoring.MonitoringClient:
        config = region_config(self._config, pool)
        key = config["region"]
        if key not in self._clients:
            options = sdk_client_options(
                service_endpoint=self._monitoring_endpoint, timeout=self._timeout
            )
            self._clients[key] = oci.monitoring.MonitoringClient(config, **options)
        return self._clients[key]
