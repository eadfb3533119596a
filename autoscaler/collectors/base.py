"""Metrics collectors: per-instance CPU and RAM, and the pool averages the decision reads.

A pool names its monitoring method; :func:`collector_for` turns that name into a collector. The
registry holds import paths rather than classes so that choosing ``local`` never imports a cloud
SDK, and so that new methods ('prometheus', 'local') plug in with one ``register_collector`` line.
"""

from __future__ import annotations

import importlib
import statistics
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from autoscaler.pool_config import PoolConfig

ERR_UNKNOWN_METHOD = "unknown monitoring method {method!r} (known: {known})"


class UnknownMonitoringMethod(ValueError):
    """A pool asked for a monitoring method no collector is registered for."""


class CollectionError(Exception):
    """Metrics could not be collected (the source is down or answered nonsense); the message
    names the pool and the source."""


@dataclass(frozen=True)
class InstanceMetrics:
    """One instance's utilisation in percent; ``None`` where it reported nothing."""

    instance_id: str
    cpu: float | None
    ram: float | None


@dataclass(frozen=True)
class PoolMetrics:
    """What one collection saw across a pool's instances.

    Averages are taken over the instances that reported the metric, so one silent instance does
    not drag the pool's average to zero; a pool where nobody reported has ``None`` averages and
    the decision holds its size.
    """

    instances: tuple[InstanceMetrics, ...]

    @property
    def avg_cpu(self) -> float | None:
        return _mean([entry.cpu for entry in self.instances])

    @property
    def avg_ram(self) -> float | None:
        return _mean([entry.ram for entry in self.instances])

    @property
    def silent_instances(self) -> tuple[str, ...]:
        """Instances that reported CPU or RAM not at all, for the evaluation record."""
        return tuple(
            entry.instance_id for entry in self.instances if entry.cpu is None or entry.ram is None
        )


@runtime_checkable
class Collector(Protocol):
    """Measures a pool's instances."""

    def collect(self, pool: PoolConfig) -> PoolMetrics: ...


CollectorFactory = Callable[..., Collector]

_COLLECTORS: dict[str, str | CollectorFactory] = {
    "oci": "autoscaler.collectors.oci:OciMetricsCollector",
    "prometheus": "autoscaler.collectors.prometheus:PrometheusMetricsCollector",
    "local": "autoscaler.collectors.local:LocalMetricsCollector",
}


def register_collector(method: str, factory: str | CollectorFactory) -> None:
    """Make ``method`` available to pools: a callable, or ``"module:attribute"`` to import late."""
    _COLLECTORS[method] = factory


def registered_methods() -> tuple[str, ...]:
    return tuple(sorted(_COLLECTORS))


def collector_for(method: str, **options: Any) -> Collector:
    """Build the collector for ``method``; ``options`` go to its constructor (config, endpoint).

    An unknown method raises :class:`UnknownMonitoringMethod` naming the known ones.
    """
    factory = _COLLECTORS.get(method)
    if factory is None:
        raise UnknownMonitoringMethod(
            ERR_UNKNOWN_METHOD.format(method=method, known=", ".join(registered_methods()))
        )
    if isinstance(factory, str):
        module_name, _, attribute = factory.partition(":")
        factory = getattr(importlib.import_module(module_name), attribute)
    return factory(**options)


def _mean(values: list[float | None]) -> float | None:
    measured = [value for value in values if value is not None]
    return statistics.fmean(measured) if measured else None
