"""The resource gate: may a node launch on a host that reads like this?"""

from __future__ import annotations

from dataclasses import dataclass

from dags.engine.definition import Resources

BUSY_CPU = "CPU {value:.0f}% > {limit:g}%"
BUSY_MEMORY = "memory {value:.0f}% > {limit:g}%"
BUSY_DISK = "disk free {value:.0f} MiB < {limit:g} MiB"
BUSY_LOAD = "load {value:.2f} > {limit:g}"


@dataclass(frozen=True, slots=True)
class HostReading:
    """One sample of the host. `load_avg_1m` is None where the platform has no load average."""

    cpu_percent: float
    memory_percent: float
    disk_free_mb: float
    load_avg_1m: float | None


def busy_reasons(limits: Resources, reading: HostReading) -> list[str]:
    """Every threshold the reading breaks, in words; empty means the node may launch."""
    reasons: list[str] = []
    if limits.cpu_percent is not None and reading.cpu_percent > limits.cpu_percent:
        reasons.append(BUSY_CPU.format(value=reading.cpu_percent, limit=limits.cpu_percent))
    if limits.memory_percent is not None and reading.memory_percent > limits.memory_percent:
        reasons.append(
            BUSY_MEMORY.format(value=reading.memory_percent, limit=limits.memory_percent)
        )
    if limits.disk_free_mb is not None and reading.disk_free_mb < limits.disk_free_mb:
        reasons.append(BUSY_DISK.format(value=reading.disk_free_mb, limit=limits.disk_free_mb))
    if (
        limits.load_avg_1m is not None
        and reading.load_avg_1m is not None
        and reading.load_avg_1m > limits.load_avg_1m
    ):
        reasons.append(BUSY_LOAD.format(value=reading.load_avg_1m, limit=limits.load_avg_1m))
    return reasons
