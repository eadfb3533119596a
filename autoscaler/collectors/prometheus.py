"""CPU and memory per instance from Prometheus, over its HTTP query API (node-exporter metrics).

Two instant queries per collection, whatever the pool's size: one for CPU busy percent and one for
memory used percent, each grouped by the ``instance`` label. When the pool's instances are known
(an OCI pool lists them), each is matched to a series by host name (the ``instance`` label without
its port, compared with the instance's display name); an instance without a series is counted as
silent. Without a list, every series the queries return belongs to the pool.
"""

from __future__ import annotations

import json
import math
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from typing import Any

from autoscaler.collectors.base import CollectionError, InstanceMetrics, PoolMetrics
from autoscaler.pool_config import PoolConfig
from autoscaler.providers.base import Instance

CPU_QUERY = '100 - avg by(instance)(rate(node_cpu_seconds_total{{mode="idle"}}[{window}]))*100'
MEMORY_QUERY = "(1 - node_memory_MemAvailable_bytes/node_memory_MemTotal_bytes)*100"
DEFAULT_WINDOW = "1m"
DEFAULT_TIMEOUT_SECONDS = 10.0

ERR_NO_URL = "pool {pool}: monitoring_method prometheus needs a prometheus_url (or a default)"
ERR_UNREACHABLE = "pool {pool}: Prometheus at {url} did not answer: {error}"
ERR_REFUSED = "pool {pool}: Prometheus at {url} refused the query ({status}): {error}"
ERR_NOT_VECTOR = "pool {pool}: Prometheus at {url} answered {kind!r}, not an instant vector"

InstanceLister = Callable[[PoolConfig], list[Instance]]


def host_of(instance_label: str) -> str:
    """``"web-1:9100"`` → ``"web-1"``; ``"[::1]:9100"`` → ``"::1"``."""
    if instance_label.startswith("["):
        return instance_label[1:].split("]", 1)[0]
    host, separator, port = instance_label.rpartition(":")
    return host if separator and port.isdigit() else instance_label


class PrometheusMetricsCollector:
    """The ``prometheus`` monitoring method."""

    def __init__(
        self,
        *,
        url: str | None = None,
        instances: InstanceLister | None = None,
        window: str = DEFAULT_WINDOW,
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
    ) -> None:
        self._default_url = url
        self._instances = instances
        self._window = window
        self._timeout = timeout

    def collect(self, pool: PoolConfig) -> PoolMetrics:
        url = (pool.prometheus_url or self._default_url or "").rstrip("/")
        if not url:
            raise CollectionError(ERR_NO_URL.format(pool=pool.label))
        cpu = self._query(pool, url, CPU_QUERY.format(window=self._window))
        ram = self._query(pool, url, MEMORY_QUERY)
        if self._instances is None:
            hosts = sorted(set(cpu) | set(ram))
            return PoolMetrics(
                instances=tuple(
                    InstanceMetrics(instance_id=host, cpu=cpu.get(host), ram=ram.get(host))
                    for host in hosts
                )
            )
        return PoolMetrics(
            instances=tuple(
                InstanceMetrics(
                    instance_id=instance.id,
                    cpu=cpu.get(instance.display_name),
                    ram=ram.get(instance.display_name),
                )
                for instance in self._instances(pool)
            )
        )

    def _query(self, pool: PoolConfig, url: str, query: str) -> dict[str, float]:
        """One instant query: host name → value (NaN and infinities dropped)."""
        address = f"{url}/api/v1/query?{urllib.parse.urlencode({'query': query})}"
        if not address.startswith(("http://", "https://")):
            raise CollectionError(
                ERR_UNREACHABLE.format(pool=pool.label, url=url, error="not an http(s) address")
            )
        try:
            with urllib.request.urlopen(address, timeout=self._timeout) as response:  # noqa: S310 - scheme checked above
                document = json.load(response)
        except urllib.error.HTTPError as error:
            raise CollectionError(
                ERR_REFUSED.format(
                    pool=pool.label, url=url, status=error.code, error=_error_text(error)
                )
            ) from error
        except (urllib.error.URLError, TimeoutError, OSError, ValueError) as error:
            raise CollectionError(
                ERR_UNREACHABLE.format(pool=pool.label, url=url, error=error)
            ) from error
        data = document.get("data") if isinstance(document, dict) else None
        if not isinstance(data, dict) or data.get("resultType") != "vector":
            kind = data.get("resultType") if isinstance(data, dict) else None
            raise CollectionError(ERR_NOT_VECTOR.format(pool=pool.label, url=url, kind=kind))
        values: dict[str, float] = {}
        for series in data.get("result") or ():
            label = str(series.get("metric", {}).get("instance", ""))
            try:
                value = float(series["value"][1])
            except (KeyError, IndexError, TypeError, ValueError):
                continue
            if label and math.isfinite(value):
                values[host_of(label)] = value
        return values


def _error_text(error: urllib.error.HTTPError) -> str:
    try:
        body: Any = json.loads(error.read() or b"{}")
    except ValueError:
        return str(error.reason)
    return str(body.get("error") or error.reason) if isinstance(body, dict) else str(error.reason)
