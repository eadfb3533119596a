"""Schedule windows: edges, midnight, time zones, days of the week and overlaps."""

from __future__ import annotations

import dataclasses
import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from autoscaler import schedules as schedules_module
from autoscaler.decision import Outcome, ScalingDecision
from autoscaler.pool_config import PoolConfig, ScalingLimits, Schedule
from autoscaler.schedules import active_schedule, is_within, schedule_decision

UTC = dt.UTC
BUSINESS = Schedule("business_hours", dt.time(8), dt.time(18), target_instances=5)
NIGHT = Schedule("night", dt.time(22), dt.time(6), target_instances=2)
FRIDAY_NIGHT = Schedule(
    "friday_night", dt.time(22), dt.time(2), target_instances=8, days=frozenset({4})
)
WEEKDAYS = Schedule(
    "weekdays", dt.time(9), dt.time(17), target_instances=4, days=frozenset(range(5))
)


def at(day: int, hour: int, minute: int = 0, second: int = 0, tz: dt.tzinfo = UTC) -> dt.datetime:
    """A moment in the week of Monday 2 March 2026: ``day`` 2 is that Monday."""
    return dt.datetime(2026, 3, day, hour, minute, second, tzinfo=tz)


@pytest.mark.parametrize(
    ("moment", "inside"),
    [
        pytest.param(at(2, 7, 59, 59), False, id="a second before the start"),
        pytest.param(at(2, 8, 0), True, id="exactly at the start"),
        pytest.param(at(2, 12, 30), True, id="in the middle"),
        pytest.param(at(2, 17, 59, 59), True, id="a second before the end"),
        pytest.param(at(2, 18, 0), False, id="exactly at the end"),
        pytest.param(at(2, 23, 0), False, id="in the evening"),
    ],
)
def test_a_daytime_window_includes_its_start_and_excludes_its_end(
    moment: dt.datetime, inside: bool
) -> None:
    assert is_within(BUSINESS, moment) is inside


@pytest.mark.parametrize(
    ("moment", "inside"),
    [
        pytest.param(at(2, 21, 59), False, id="before the evening start"),
        pytest.param(at(2, 22, 0), True, id="at the evening start"),
        pytest.param(at(2, 23, 59, 59), True, id="just before midnight"),
        pytest.param(at(3, 0, 0), True, id="at midnight"),
        pytest.param(at(3, 5, 59), True, id="early morning"),
        pytest.param(at(3, 6, 0), False, id="at the morning end"),
        pytest.param(at(3, 12, 0), False, id="at noon"),
    ],
)
def test_a_window_across_midnight_holds_through_the_night(
    moment: dt.datetime, inside: bool
) -> None:
    assert is_within(NIGHT, moment) is inside


@pytest.mark.parametrize(
    ("moment", "inside"),
    [
        pytest.param(at(5, 23, 0), False, id="thursday night is not friday"),
        pytest.param(at(6, 1, 0), False, id="friday small hours belong to thursday"),
        pytest.param(at(6, 22, 30), True, id="friday night"),
        pytest.param(at(7, 1, 59), True, id="saturday small hours belong to friday"),
        pytest.param(at(7, 2, 0), False, id="saturday at the end"),
        pytest.param(at(7, 22, 30), False, id="saturday night"),
    ],
)
def test_days_name_the_day_a_window_starts(moment: dt.datetime, inside: bool) -> None:
    assert is_within(FRIDAY_NIGHT, moment) is inside


def test_weekday_windows_skip_the_weekend() -> None:
    assert [is_within(WEEKDAYS, at(day, 10)) for day in range(2, 9)] == [
        True,
        True,
        True,
        True,
        True,
        False,
        False,
    ]


def test_a_window_is_read_in_its_own_time_zone() -> None:
    paris = dataclasses.replace(BUSINESS, timezone="Europe/Paris")

    # 07:30 UTC is 08:30 in Paris in winter; 17:30 UTC is 18:30 there.
    assert is_within(paris, at(2, 7, 30)) is True
    assert is_within(paris, at(2, 17, 30)) is False
    assert is_within(BUSINESS, at(2, 7, 30)) is False


def test_a_window_follows_daylight_saving_time() -> None:
    new_york = dataclasses.replace(BUSINESS, timezone="America/New_York")

    # 08:00 in New York is 13:00 UTC before the March change and 12:00 UTC after it.
    assert is_within(new_york, dt.datetime(2026, 3, 6, 12, 30, tzinfo=UTC)) is False
    assert is_within(new_york, dt.datetime(2026, 3, 9, 12, 30, tzinfo=UTC)) is True


def test_a_window_without_a_time_zone_is_read_on_the_given_clock() -> None:
    tokyo = ZoneInfo("Asia/Tokyo")

    assert is_within(BUSINESS, at(2, 9, tz=tokyo)) is True
    assert is_within(BUSINESS, at(2, 9, tz=tokyo).astimezone(UTC)) is False


def test_days_are_read_in_the_schedules_time_zone() -> None:
    auckland_weekdays = dataclasses.replace(WEEKDAYS, timezone="Pacific/Auckland")

    # Sunday 22:00 UTC is already Monday 11:00 in Auckland.
    assert is_within(auckland_weekdays, at(8, 22)) is True


def test_a_clock_without_a_time_zone_is_refused() -> None:
    naive = dt.datetime(2026, 3, 2, 10, 0)  # noqa: DTZ001 - the refusal under test

    with pytest.raises(ValueError, match="aware datetime") as caught:
        is_within(BUSINESS, naive)

    assert str(caught.value) == schedules_module.ERR_NAIVE_CLOCK.format(now=naive)


def test_no_schedule_is_active_outside_every_window() -> None:
    assert active_schedule([BUSINESS, NIGHT], at(2, 20)) is None
    assert active_schedule([], at(2, 10)) is None


def test_overlapping_schedules_resolve_to_the_highest_target() -> None:
    peak = Schedule("peak", dt.time(11), dt.time(14), target_instances=9)
    quiet = Schedule("lunch_quiet", dt.time(12), dt.time(13), target_instances=3)

    assert active_schedule([BUSINESS, peak, quiet], at(2, 12, 30)) is peak
    assert active_schedule([quiet, BUSINESS, peak], at(2, 12, 30)) is peak
    assert active_schedule([BUSINESS, peak, quiet], at(2, 10)) is BUSINESS


def test_equal_targets_go_to_the_schedule_declared_first() -> None:
    twin = dataclasses.replace(BUSINESS, name="twin")

    assert active_schedule([twin, BUSINESS], at(2, 10)) is twin


def test_adjacent_windows_hand_over_without_overlap() -> None:
    morning = Schedule("morning", dt.time(8), dt.time(12), target_instances=6)
    afternoon = Schedule("afternoon", dt.time(12), dt.time(18), target_instances=3)

    assert active_schedule([morning, afternoon], at(2, 11, 59, 59)) is morning
    assert active_schedule([morning, afternoon], at(2, 12, 0)) is afternoon


POOL = PoolConfig(
    instance_pool_id="ocid1.instancepool.oc1..web",
    region="us-ashburn-1",
    monitoring_method="oci",
    cpu_threshold=80,
    ram_threshold=80,
    scaling_limits=ScalingLimits(min=2, max=10),
    schedules=(BUSINESS,),
)


@pytest.mark.parametrize(
    ("size", "outcome", "reason"),
    [
        (
            2,
            Outcome.SCALE_UP,
            "scheduler active: schedule 'business_hours' raises the pool from 2 to 5",
        ),
        (
            9,
            Outcome.SCALE_DOWN,
            "scheduler active: schedule 'business_hours' lowers the pool from 9 to 5",
        ),
        (
            5,
            Outcome.NO_ACTION,
            "scheduler active: schedule 'business_hours' target 5 already reached",
        ),
    ],
)
def test_the_scheduler_drives_the_pool_to_its_target_in_one_step(
    size: int, outcome: Outcome, reason: str
) -> None:
    result = schedule_decision(POOL, current_size=size, now=at(2, 8))

    assert result == ScalingDecision(
        outcome=outcome, current_size=size, target_size=5, reason=reason, at=at(2, 8)
    )


def test_outside_every_window_the_scheduler_leaves_the_pool_to_metric_scaling() -> None:
    assert schedule_decision(POOL, current_size=3, now=at(2, 18)) is None


def test_a_paused_pool_is_left_alone_by_the_scheduler_too() -> None:
    paused = dataclasses.replace(POOL, paused=True)

    result = schedule_decision(paused, current_size=3, now=at(2, 10))

    assert result is not None
    assert (result.outcome, result.target_size) == (Outcome.PAUSED, 3)
    assert result.reason == (
        "pool ocid1.instancepool.oc1..web is paused; schedule 'business_hours' not applied"
    )
