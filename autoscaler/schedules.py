"""Scheduled sizes: which window holds a pool now, and how to drive the pool to its target.

A schedule takes precedence over metric scaling. While one is active the metric decision answers
SKIPPED_SCHEDULE ("scheduler active") and :func:`schedule_decision` drives the pool straight to the
target; when every window has closed, metric scaling resumes.

Windows are half-open, ``[start, end)``: "08:00"-"12:00" and "12:00"-"18:00" hand over at noon
without a minute in which both hold, and "22:00"-"06:00" plus "06:00"-"22:00" cover a day exactly
once. A window whose end is earlier than its start crosses midnight and belongs to the day on
which it started, so ``days: [friday]`` with "22:00"-"02:00" still holds at 01:00 on Saturday.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Iterable

from autoscaler.decision import Outcome, ScalingDecision
from autoscaler.pool_config import PoolConfig, Schedule

ERR_NAIVE_CLOCK = "schedules need an aware datetime (with a time zone), got {now!r}"

REASON_SCHEDULE_PAUSED = "pool {pool} is paused; schedule '{schedule}' not applied"
REASON_SCHEDULE_UP = (
    "scheduler active: schedule '{schedule}' raises the pool from {size} to {target}"
)
REASON_SCHEDULE_DOWN = (
    "scheduler active: schedule '{schedule}' lowers the pool from {size} to {target}"
)
REASON_SCHEDULE_HELD = "scheduler active: schedule '{schedule}' target {target} already reached"


def is_within(schedule: Schedule, now: dt.datetime) -> bool:
    """Whether ``now`` falls inside ``schedule``'s window, read in the schedule's time zone."""
    if now.tzinfo is None:
        raise ValueError(ERR_NAIVE_CLOCK.format(now=now))
    local = now.astimezone(zoneinfo.ZoneInfo(schedule.timezone)) if schedule.timezone else now
    clock = local.time().replace(tzinfo=None)
    today = local.weekday()
    yesterday = (today - 1) % 7

    def starts_on(day: int) -> bool:
        return schedule.days is None or day in schedule.days

    if not schedule.crosses_midnight:
        return starts_on(today) and schedule.start_time <= clock < schedule.end_time
    evening_part = starts_on(today) and clock >= schedule.start_time
    morning_part = starts_on(yesterday) and clock < schedule.end_time
    return evening_part or morning_part


def active_schedule(schedules: Iterable[Schedule], now: dt.datetime) -> Schedule | None:
    """The schedule in force at ``now``; when windows overlap the highest target wins.

    A tie between equal targets goes to the schedule declared first, so the answer is stable.
    """
    winner: Schedule | None = None
    for schedule in schedules:
        if not is_within(schedule, now):
            continue
        if winner is None or schedule.target_instances > winner.target_instances:
            winner = schedule
    return winner


def schedule_decision(
    pool: PoolConfig, *, current_size: int, now: dt.datetime
) -> ScalingDecision | None:
    """The scheduler's move for ``pool`` at ``now``, or ``None`` when no window is active.

    Unlike metric scaling, the scheduler goes to its target in one step: a business-hours target
    of 5 means 5 at 08:00, not one more instance every five minutes.
    """
    schedule = active_schedule(pool.schedules, now)
    if schedule is None:
        return None
    target = schedule.target_instances
    words = {"pool": pool.label, "schedule": schedule.name, "size": current_size, "target": target}
    if pool.paused:
        outcome, reason, target = Outcome.PAUSED, REASON_SCHEDULE_PAUSED, current_size
    elif current_size < target:
        outcome, reason = Outcome.SCALE_UP, REASON_SCHEDULE_UP
    elif current_size > target:
        outcome, reason = Outcome.SCALE_DOWN, REASON_SCHEDULE_DOWN
    else:
        outcome, reason = Outcome.NO_ACTION, REASON_SCHEDULE_HELD
    return ScalingDecision(
        outcome=outcome,
        current_size=current_size,
        target_size=target,
        reason=reason.format(**words),
        at=now,
    )
