"""The metric scaling decision: one pure function from what was measured to what to do.

Keeping it free of clouds, clocks and databases lets every branch be tested as plain data and
lets ``dagyard pools evaluate --dry-run`` show exactly what the loop would do. Its default is the
original rule: add one instance when average CPU *or* RAM is above its threshold and the pool is
below max; remove one when *both* are under half their thresholds and the pool is above min.
Cooldowns, sustained breaches, the pause switch and the missing-metrics fallback only change that
when a pool opts in.
"""

from __future__ import annotations

import datetime as dt
import enum
import math
from collections.abc import Iterable
from dataclasses import dataclass

from autoscaler.pool_config import MissingMetricsFallback, PoolConfig

LOWER_BOUND_FRACTION = 0.5

REASON_PAUSED = "pool {pool} is paused; size stays at {size}"
REASON_MISSING_METRICS = "metrics missing (CPU {cpu}, RAM {ram}); holding size at {size}"
REASON_MISSING_NO_BREACH = (
    "metrics incomplete (CPU {cpu}, RAM {ram}) and none measured above its threshold; "
    "holding size at {size}"
)
REASON_SCHEDULE_ACTIVE = (
    "scheduler active: schedule '{schedule}' holds the pool at {target}; metric scaling paused"
)
REASON_SCALE_UP = (
    "CPU {cpu} or RAM {ram} above threshold (CPU {cpu_threshold}, RAM {ram_threshold}): "
    "scaling up from {size} to {target}"
)
REASON_AT_MAX = (
    "CPU {cpu} or RAM {ram} above threshold (CPU {cpu_threshold}, RAM {ram_threshold}), "
    "but at max instances ({max}): cannot scale up"
)
REASON_SCALE_DOWN = (
    "CPU {cpu} and RAM {ram} below half their thresholds (CPU {cpu_low}, RAM {ram_low}): "
    "scaling down from {size} to {target}"
)
REASON_AT_MIN = (
    "CPU {cpu} and RAM {ram} below half their thresholds (CPU {cpu_low}, RAM {ram_low}), "
    "but at min instances ({min}): cannot scale down"
)
REASON_NO_ACTION = "CPU {cpu} and RAM {ram} within range: no scaling needed at size {size}"
REASON_BREACH_PENDING = (
    "{direction} pressure (CPU {cpu}, RAM {ram}) for {count} of {needed} consecutive "
    "evaluations: waiting before scaling {direction}"
)
REASON_COOLDOWN = (
    "{direction} pressure (CPU {cpu}, RAM {ram}), but cooling down until {until} after the "
    "{last} at {last_at}"
)
REASON_ERROR = "evaluation failed: {error}"


class Outcome(enum.StrEnum):
    """What one evaluation did, recorded every time so users can see why nothing happened."""

    SCALE_UP = "scale_up"
    SCALE_DOWN = "scale_down"
    NO_ACTION = "no_action"
    AT_LIMIT = "at_limit"
    SKIPPED_SCHEDULE = "skipped_schedule"
    PAUSED = "paused"
    COOLDOWN = "cooldown"
    BREACH_PENDING = "breach_pending"
    HOLD_MISSING_METRICS = "hold_missing_metrics"
    ERROR = "error"


SIZE_CHANGES = frozenset({Outcome.SCALE_UP, Outcome.SCALE_DOWN})


class Pressure(enum.StrEnum):
    """Which way the measured metrics push, whatever was finally decided.

    Recorded with each decision so that a later evaluation can count consecutive breaches.
    """

    UP = "up"
    DOWN = "down"
    NONE = "none"


@dataclass(frozen=True)
class ScalingDecision:
    """The result of one evaluation: what to do, to which size, and why in words.

    ``current_size`` and ``target_size`` are ``None`` only for an ERROR raised before the pool's
    size could be read.
    """

    outcome: Outcome
    current_size: int | None
    target_size: int | None
    reason: str
    at: dt.datetime
    cpu: float | None = None
    ram: float | None = None
    pressure: Pressure = Pressure.NONE

    @property
    def changes_size(self) -> bool:
        return self.outcome in SIZE_CHANGES and self.target_size != self.current_size


def decide(
    pool: PoolConfig,
    *,
    current_size: int,
    cpu: float | None,
    ram: float | None,
    now: dt.datetime,
    history: Iterable[ScalingDecision] = (),
) -> ScalingDecision:
    """Decide one metric evaluation of ``pool``.

    ``cpu`` and ``ram`` are the pool's average utilisation in percent (``None``, NaN or negative
    when they could not be measured). ``history`` holds the pool's earlier decisions, in any
    order; it is read only for cooldowns and sustained breaches.
    """
    # Imported here because schedules builds ScalingDecisions from this module.
    from autoscaler.schedules import active_schedule

    cpu = _measured(cpu)
    ram = _measured(ram)
    incomplete = cpu is None or ram is None
    holding = incomplete and pool.missing_metrics is MissingMetricsFallback.HOLD
    # A held round was never evaluated, so it records no pressure and breaks any breach streak.
    pressure = Pressure.NONE if holding else _pressure(pool, cpu, ram)
    words = _Words(pool, current_size, cpu, ram, pressure)

    def decision(outcome: Outcome, reason: str, target: int = current_size) -> ScalingDecision:
        return ScalingDecision(
            outcome=outcome,
            current_size=current_size,
            target_size=target,
            reason=reason,
            at=now,
            cpu=cpu,
            ram=ram,
            pressure=pressure,
        )

    if pool.paused:
        return decision(Outcome.PAUSED, REASON_PAUSED.format(pool=pool.label, size=current_size))
    if holding:
        return decision(Outcome.HOLD_MISSING_METRICS, words.format(REASON_MISSING_METRICS))
    if incomplete and pressure is not Pressure.UP:
        return decision(Outcome.HOLD_MISSING_METRICS, words.format(REASON_MISSING_NO_BREACH))
    schedule = active_schedule(pool.schedules, now)
    if schedule is not None:
        reason = REASON_SCHEDULE_ACTIVE.format(
            schedule=schedule.name, target=schedule.target_instances
        )
        return decision(Outcome.SKIPPED_SCHEDULE, reason)
    if pressure is Pressure.NONE:
        return decision(Outcome.NO_ACTION, words.format(REASON_NO_ACTION))

    scaling_up = pressure is Pressure.UP
    if scaling_up and current_size >= pool.scaling_limits.max:
        return decision(Outcome.AT_LIMIT, words.format(REASON_AT_MAX))
    if not scaling_up and current_size <= pool.scaling_limits.min:
        return decision(Outcome.AT_LIMIT, words.format(REASON_AT_MIN))

    past = sorted((entry for entry in history if entry.at <= now), key=lambda entry: entry.at)
    streak = 1 + _trailing_breaches(past, pressure)
    if streak < pool.sustained_breaches:
        reason = words.format(REASON_BREACH_PENDING, count=streak, needed=pool.sustained_breaches)
        return decision(Outcome.BREACH_PENDING, reason)

    cooldown = pool.scale_up_cooldown_seconds if scaling_up else pool.scale_down_cooldown_seconds
    last_action = next((entry for entry in reversed(past) if entry.outcome in SIZE_CHANGES), None)
    if last_action is not None and cooldown > 0:
        until = last_action.at + dt.timedelta(seconds=cooldown)
        if now < until:
            reason = words.format(
                REASON_COOLDOWN,
                until=until.isoformat(timespec="seconds"),
                last=last_action.outcome.value.replace("_", " "),
                last_at=last_action.at.isoformat(timespec="seconds"),
            )
            return decision(Outcome.COOLDOWN, reason)

    if scaling_up:
        target = current_size + 1
        return decision(Outcome.SCALE_UP, words.format(REASON_SCALE_UP, target=target), target)
    target = current_size - 1
    return decision(Outcome.SCALE_DOWN, words.format(REASON_SCALE_DOWN, target=target), target)


def failed_decision(
    pool: PoolConfig,
    *,
    error: str,
    now: dt.datetime,
    current_size: int | None = None,
    cpu: float | None = None,
    ram: float | None = None,
) -> ScalingDecision:
    """Record an evaluation that could not be decided (collector or provider failure)."""
    return ScalingDecision(
        outcome=Outcome.ERROR,
        current_size=current_size,
        target_size=current_size,
        reason=REASON_ERROR.format(error=error),
        at=now,
        cpu=_measured(cpu),
        ram=_measured(ram),
    )


def _measured(value: float | None) -> float | None:
    """A usable percentage, or ``None``: NaN, infinities and negatives are not measurements."""
    if value is None or isinstance(value, bool):
        return None
    value = float(value)
    if not math.isfinite(value) or value < 0:
        return None
    return value


def _pressure(pool: PoolConfig, cpu: float | None, ram: float | None) -> Pressure:
    cpu_high = cpu is not None and cpu > pool.cpu_threshold
    ram_high = ram is not None and ram > pool.ram_threshold
    if cpu_high or ram_high:
        return Pressure.UP
    if (
        cpu is not None
        and ram is not None
        and cpu < pool.cpu_threshold * LOWER_BOUND_FRACTION
        and ram < pool.ram_threshold * LOWER_BOUND_FRACTION
    ):
        return Pressure.DOWN
    return Pressure.NONE


def _trailing_breaches(past: list[ScalingDecision], pressure: Pressure) -> int:
    """Consecutive earlier evaluations with the same pressure, back to the last size change."""
    count = 0
    for entry in reversed(past):
        if entry.outcome in SIZE_CHANGES or entry.pressure is not pressure:
            break
        count += 1
    return count


@dataclass(frozen=True)
class _Words:
    """Fills reason templates with the pool's numbers, formatted the same way everywhere."""

    pool: PoolConfig
    size: int
    cpu: float | None
    ram: float | None
    pressure: Pressure

    def format(self, template: str, **extra: object) -> str:
        limits = self.pool.scaling_limits
        values: dict[str, object] = {
            "cpu": _percent(self.cpu),
            "ram": _percent(self.ram),
            "cpu_threshold": _percent(self.pool.cpu_threshold),
            "ram_threshold": _percent(self.pool.ram_threshold),
            "cpu_low": _percent(self.pool.cpu_threshold * LOWER_BOUND_FRACTION),
            "ram_low": _percent(self.pool.ram_threshold * LOWER_BOUND_FRACTION),
            "size": self.size,
            "min": limits.min,
            "max": limits.max,
            "direction": self.pressure.value,
        }
        values.update(extra)
        return template.format(**values)


def _percent(value: float | None) -> str:
    return "missing" if value is None else f"{round(value, 1):g}%"
