"""CPU and memory of this machine through psutil: the ``local`` monitoring method.

A local worker pool runs on one host, so the pool's metrics are the host's: one instance, named
after the host. CPU is sampled over a short interval because psutil's first reading without one
is meaningless.
"""

from __future__ import annotations

import socket

import psutil

from autoscaler.collectors.base import InstanceMetrics, PoolMetrics
from autoscaler.pool_config import PoolConfig

DEFAULT_SAMPLE_SECONDS = 0.5


class LocalMetricsCollector:
    """The ``local`` monitoring method."""

    def __init__(self, *, sample_seconds: float = DEFAULT_SAMPLE_SECONDS) -> None:
        self._sample_seconds = sample_seconds

    def collect(self, pool: PoolConfig) -> PoolMetrics:
        cpu = psutil.cpu_percent(interval=self._sample_seconds)
        ram = psutil.virtual_memory().percent
        return PoolMetrics(
            instances=(InstanceMetrics(instance_id=socket.gethostname(), cpu=cpu, ram=ram),)
        )
