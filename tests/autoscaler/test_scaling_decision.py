"""The metric decision, branch by branch: the original rule first, then each opt-in knob."""

from __future__ import annotations

import dataclasses
import datetime as dt
import math

import pytest

from autoscaler import decision as decision_module
from autoscaler.decision import Outcome, Pressure, ScalingDecision, decide, failed_decision
from autoscaler.pool_config import (
    MissingMetricsFallback,
    PoolConfig,
    ScalingLimits,
    Schedule,
)

NOW = dt.datetime(2026, 3, 2, 3, 0, tzinfo=dt.UTC)  # a Monday, 03:00, outside any schedule below

POOL = PoolConfig(
    instance_pool_id="ocid1.instancepool.oc1..web",
    region="us-ashburn-1",
    monitoring_method="oci",
    cpu_threshold=80,
    ram_threshold=80,
    scaling_limits=ScalingLimits(min=2, max=10),
    schedules=(Schedule("business_hours", dt.time(8), dt.time(18), target_instances=5),),
)


def pool_with(**changes: object) -> PoolConfig:
    return dataclasses.replace(POOL, **changes)


def past(
    minutes_ago: float,
    outcome: Outcome = Outcome.NO_ACTION,
    pressure: Pressure = Pressure.NONE,
    size: int = 4,
) -> ScalingDecision:
    target = {Outcome.SCALE_UP: size + 1, Outcome.SCALE_DOWN: size - 1}.get(outcome, size)
    return ScalingDecision(
        outcome=outcome,
        current_size=size,
        target_size=target,
        reason="earlier evaluation",
        at=NOW - dt.timedelta(minutes=minutes_ago),
        pressure=pressure,
    )


# The original rule, as a table: (cpu, ram, size) -> (outcome, target size).
@pytest.mark.parametrize(
    ("cpu", "ram", "size", "outcome", "target"),
    [
        pytest.param(85, 50, 4, Outcome.SCALE_UP, 5, id="cpu above threshold scales up"),
        pytest.param(50, 85, 4, Outcome.SCALE_UP, 5, id="ram above threshold scales up"),
        pytest.param(95, 95, 9, Outcome.SCALE_UP, 10, id="one below max scales up to max"),
        pytest.param(95, 95, 10, Outcome.AT_LIMIT, 10, id="at max cannot scale up"),
        pytest.param(95, 10, 12, Outcome.AT_LIMIT, 12, id="above max is not raised further"),
        pytest.param(85, 10, 1, Outcome.SCALE_UP, 2, id="high cpu beats low ram"),
        pytest.param(30, 30, 4, Outcome.SCALE_DOWN, 3, id="both under half scale down"),
        pytest.param(30, 30, 3, Outcome.SCALE_DOWN, 2, id="one above min scales down to min"),
        pytest.param(30, 30, 2, Outcome.AT_LIMIT, 2, id="at min cannot scale down"),
        pytest.param(30, 30, 0, Outcome.AT_LIMIT, 0, id="below min is not lowered further"),
        pytest.param(30, 60, 4, Outcome.NO_ACTION, 4, id="only cpu under half does nothing"),
        pytest.param(60, 30, 4, Outcome.NO_ACTION, 4, id="only ram under half does nothing"),
        pytest.param(80, 80, 4, Outcome.NO_ACTION, 4, id="exactly at threshold is not above"),
        pytest.param(40, 40, 4, Outcome.NO_ACTION, 4, id="exactly at half is not under"),
        pytest.param(79.9, 40.1, 4, Outcome.NO_ACTION, 4, id="just inside the range"),
        pytest.param(0, 0, 4, Outcome.SCALE_DOWN, 3, id="idle pool scales down"),
    ],
)
def test_the_original_rule_adds_or_removes_one_instance_within_limits(
    cpu: float, ram: float, size: int, outcome: Outcome, target: int
) -> None:
    result = decide(POOL, current_size=size, cpu=cpu, ram=ram, now=NOW, history=())

    assert (result.outcome, result.current_size, result.target_size) == (outcome, size, target)
    assert (result.cpu, result.ram, result.at) == (cpu, ram, NOW)


def test_scale_up_reason_names_the_metrics_thresholds_and_sizes() -> None:
    result = decide(POOL, current_size=4, cpu=85.04, ram=50, now=NOW)

    assert result.reason == (
        "CPU 85% or RAM 50% above threshold (CPU 80%, RAM 80%): scaling up from 4 to 5"
    )
    assert result.pressure is Pressure.UP
    assert result.changes_size


def test_at_max_reason_says_why_nothing_happened() -> None:
    result = decide(POOL, current_size=10, cpu=95.5, ram=20, now=NOW)

    assert result.reason == (
        "CPU 95.5% or RAM 20% above threshold (CPU 80%, RAM 80%), "
        "but at max instances (10): cannot scale up"
    )
    assert not result.changes_size


def test_scale_down_and_at_min_reasons_name_the_lower_bounds() -> None:
    down = decide(POOL, current_size=4, cpu=10, ram=20, now=NOW)
    at_min = decide(POOL, current_size=2, cpu=10, ram=20, now=NOW)

    assert down.reason == (
        "CPU 10% and RAM 20% below half their thresholds (CPU 40%, RAM 40%): "
        "scaling down from 4 to 3"
    )
    assert at_min.reason == (
        "CPU 10% and RAM 20% below half their thresholds (CPU 40%, RAM 40%), "
        "but at min instances (2): cannot scale down"
    )


def test_metrics_within_range_say_no_scaling_needed() -> None:
    result = decide(POOL, current_size=4, cpu=60, ram=50, now=NOW)

    assert result.reason == "CPU 60% and RAM 50% within range: no scaling needed at size 4"
    assert result.pressure is Pressure.NONE


def test_thresholds_apply_separately_to_cpu_and_ram() -> None:
    pool = pool_with(cpu_threshold=50, ram_threshold=90)

    assert decide(pool, current_size=4, cpu=55, ram=55, now=NOW).outcome is Outcome.SCALE_UP
    assert decide(pool, current_size=4, cpu=20, ram=44, now=NOW).outcome is Outcome.SCALE_DOWN
    assert decide(pool, current_size=4, cpu=26, ram=44, now=NOW).outcome is Outcome.NO_ACTION


@pytest.mark.parametrize(
    ("cpu", "ram", "shown"),
    [
        (None, 50, "CPU missing, RAM 50%"),
        (50, None, "CPU 50%, RAM missing"),
        (None, None, "CPU missing, RAM missing"),
        (math.nan, 50, "CPU missing, RAM 50%"),
        (95, -1, "CPU 95%, RAM missing"),
        (math.inf, 10, "CPU missing, RAM 10%"),
    ],
)
def test_invalid_metrics_skip_the_round_and_hold_the_size(
    cpu: float | None, ram: float | None, shown: str
) -> None:
    result = decide(POOL, current_size=4, cpu=cpu, ram=ram, now=NOW)

    assert result.outcome is Outcome.HOLD_MISSING_METRICS
    assert (result.current_size, result.target_size) == (4, 4)
    assert result.reason == f"metrics missing ({shown}); holding size at 4"


def test_an_active_schedule_pauses_metric_scaling_in_both_directions() -> None:
    ten_am = NOW.replace(hour=10)

    up = decide(POOL, current_size=4, cpu=99, ram=99, now=ten_am)
    down = decide(POOL, current_size=6, cpu=1, ram=1, now=ten_am)

    for result, size in ((up, 4), (down, 6)):
        assert result.outcome is Outcome.SKIPPED_SCHEDULE
        assert result.target_size == size
        assert result.reason == (
            "scheduler active: schedule 'business_hours' holds the pool at 5; metric scaling paused"
        )


def test_metric_scaling_resumes_when_the_schedule_ends() -> None:
    six_pm = NOW.replace(hour=18)

    assert decide(POOL, current_size=4, cpu=99, ram=99, now=six_pm).outcome is Outcome.SCALE_UP


def test_invalid_metrics_are_reported_before_the_schedule_as_originally() -> None:
    ten_am = NOW.replace(hour=10)

    result = decide(POOL, current_size=4, cpu=None, ram=50, now=ten_am)

    assert result.outcome is Outcome.HOLD_MISSING_METRICS


def test_a_paused_pool_never_scales_and_says_so() -> None:
    pool = pool_with(paused=True)

    for cpu, ram in ((99, 99), (1, 1), (None, None)):
        result = decide(pool, current_size=4, cpu=cpu, ram=ram, now=NOW)
        assert result.outcome is Outcome.PAUSED
        assert result.target_size == 4
        assert result.reason == "pool ocid1.instancepool.oc1..web is paused; size stays at 4"


class TestSustainedBreaches:
    POOL = pool_with(sustained_breaches=3)

    def test_the_default_of_one_acts_on_the_first_breach(self) -> None:
        assert decide(POOL, current_size=4, cpu=99, ram=1, now=NOW).outcome is Outcome.SCALE_UP

    def test_a_first_breach_waits_and_counts(self) -> None:
        result = decide(self.POOL, current_size=4, cpu=99, ram=1, now=NOW, history=())

        assert result.outcome is Outcome.BREACH_PENDING
        assert result.target_size == 4
        assert result.pressure is Pressure.UP
        assert result.reason == (
            "up pressure (CPU 99%, RAM 1%) for 1 of 3 consecutive evaluations: "
            "waiting before scaling up"
        )

    def test_the_nth_consecutive_breach_scales(self) -> None:
        history = [
            past(10, Outcome.BREACH_PENDING, Pressure.UP),
            past(5, Outcome.BREACH_PENDING, Pressure.UP),
        ]

        result = decide(self.POOL, current_size=4, cpu=99, ram=1, now=NOW, history=history)

        assert result.outcome is Outcome.SCALE_UP

    def test_history_order_does_not_matter(self) -> None:
        history = [
            past(5, Outcome.BREACH_PENDING, Pressure.DOWN),
            past(10, Outcome.BREACH_PENDING, Pressure.DOWN),
        ]

        result = decide(self.POOL, current_size=4, cpu=1, ram=1, now=NOW, history=history)

        assert result.outcome is Outcome.SCALE_DOWN

    def test_a_calm_evaluation_breaks_the_streak(self) -> None:
        history = [
            past(15, Outcome.BREACH_PENDING, Pressure.UP),
            past(10, Outcome.NO_ACTION, Pressure.NONE),
            past(5, Outcome.BREACH_PENDING, Pressure.UP),
        ]

        result = decide(self.POOL, current_size=4, cpu=99, ram=1, now=NOW, history=history)

        assert result.outcome is Outcome.BREACH_PENDING
        assert "for 2 of 3" in result.reason

    def test_pressure_the_other_way_breaks_the_streak(self) -> None:
        history = [
            past(10, Outcome.BREACH_PENDING, Pressure.DOWN),
            past(5, Outcome.BREACH_PENDING, Pressure.DOWN),
        ]

        result = decide(self.POOL, current_size=4, cpu=99, ram=1, now=NOW, history=history)

        assert result.outcome is Outcome.BREACH_PENDING
        assert "for 1 of 3" in result.reason

    def test_a_scaling_action_starts_a_new_streak(self) -> None:
        history = [
            past(15, Outcome.BREACH_PENDING, Pressure.UP),
            past(10, Outcome.SCALE_UP, Pressure.UP),
            past(5, Outcome.BREACH_PENDING, Pressure.UP),
        ]

        result = decide(self.POOL, current_size=5, cpu=99, ram=1, now=NOW, history=history)

        assert result.outcome is Outcome.BREACH_PENDING
        assert "for 2 of 3" in result.reason

    def test_a_round_held_for_missing_metrics_breaks_the_streak(self) -> None:
        five_minutes_ago = NOW - dt.timedelta(minutes=5)
        held = decide(self.POOL, current_size=4, cpu=None, ram=99, now=five_minutes_ago)
        history = [past(10, Outcome.BREACH_PENDING, Pressure.UP), held]

        result = decide(self.POOL, current_size=4, cpu=99, ram=99, now=NOW, history=history)

        assert held.pressure is Pressure.NONE
        assert result.outcome is Outcome.BREACH_PENDING
        assert "for 1 of 3" in result.reason

    def test_limits_are_checked_before_breaches_are_counted(self) -> None:
        result = decide(self.POOL, current_size=10, cpu=99, ram=1, now=NOW)

        assert result.outcome is Outcome.AT_LIMIT

    def test_evaluations_recorded_after_now_are_ignored(self) -> None:
        history = [
            past(-5, Outcome.BREACH_PENDING, Pressure.UP),
            past(-10, Outcome.BREACH_PENDING, Pressure.UP),
        ]

        result = decide(self.POOL, current_size=4, cpu=99, ram=1, now=NOW, history=history)

        assert result.outcome is Outcome.BREACH_PENDING


class TestCooldowns:
    POOL = pool_with(scale_up_cooldown_seconds=600, scale_down_cooldown_seconds=1800)

    def test_without_cooldowns_a_recent_action_does_not_delay_the_next(self) -> None:
        history = [past(1, Outcome.SCALE_UP, Pressure.UP)]

        result = decide(POOL, current_size=5, cpu=99, ram=1, now=NOW, history=history)

        assert result.outcome is Outcome.SCALE_UP

    def test_scale_up_waits_out_its_cooldown_after_an_action(self) -> None:
        history = [past(4, Outcome.SCALE_UP, Pressure.UP)]

        result = decide(self.POOL, current_size=5, cpu=99, ram=1, now=NOW, history=history)

        assert result.outcome is Outcome.COOLDOWN
        assert result.target_size == 5
        assert result.reason == (
            "up pressure (CPU 99%, RAM 1%), but cooling down until 2026-03-02T03:06:00+00:00 "
            "after the scale up at 2026-03-02T02:56:00+00:00"
        )

    def test_scale_up_resumes_when_the_cooldown_has_passed(self) -> None:
        history = [past(10, Outcome.SCALE_UP, Pressure.UP)]

        result = decide(self.POOL, current_size=5, cpu=99, ram=1, now=NOW, history=history)

        assert result.outcome is Outcome.SCALE_UP

    def test_scale_down_has_its_own_longer_cooldown(self) -> None:
        history = [past(20, Outcome.SCALE_DOWN, Pressure.DOWN)]

        down = decide(self.POOL, current_size=5, cpu=1, ram=1, now=NOW, history=history)
        up = decide(self.POOL, current_size=5, cpu=99, ram=1, now=NOW, history=history)

        assert down.outcome is Outcome.COOLDOWN
        assert up.outcome is Outcome.SCALE_UP

    def test_a_scale_up_also_holds_back_a_quick_scale_down(self) -> None:
        history = [past(20, Outcome.SCALE_UP, Pressure.UP)]

        result = decide(self.POOL, current_size=5, cpu=1, ram=1, now=NOW, history=history)

        assert result.outcome is Outcome.COOLDOWN

    def test_only_the_latest_action_counts(self) -> None:
        history = [
            past(40, Outcome.SCALE_DOWN, Pressure.DOWN),
            past(35, Outcome.SCALE_UP, Pressure.UP),
            past(5, Outcome.AT_LIMIT, Pressure.DOWN),
        ]

        result = decide(self.POOL, current_size=5, cpu=1, ram=1, now=NOW, history=history)

        assert result.outcome is Outcome.SCALE_DOWN

    def test_cooldown_never_hides_a_limit(self) -> None:
        history = [past(1, Outcome.SCALE_UP, Pressure.UP)]

        result = decide(self.POOL, current_size=10, cpu=99, ram=1, now=NOW, history=history)

        assert result.outcome is Outcome.AT_LIMIT


class TestMissingMetricsFallback:
    POOL = pool_with(missing_metrics=MissingMetricsFallback.USE_AVAILABLE)

    def test_one_measured_metric_above_threshold_still_scales_up(self) -> None:
        result = decide(self.POOL, current_size=4, cpu=95, ram=None, now=NOW)

        assert result.outcome is Outcome.SCALE_UP
        assert result.reason == (
            "CPU 95% or RAM missing above threshold (CPU 80%, RAM 80%): scaling up from 4 to 5"
        )

    def test_one_low_metric_cannot_prove_the_pool_idle(self) -> None:
        result = decide(self.POOL, current_size=4, cpu=None, ram=5, now=NOW)

        assert result.outcome is Outcome.HOLD_MISSING_METRICS
        assert result.reason == (
            "metrics incomplete (CPU missing, RAM 5%) and none measured above its threshold; "
            "holding size at 4"
        )

    def test_a_measured_breach_counts_toward_a_sustained_streak(self) -> None:
        pool = dataclasses.replace(self.POOL, sustained_breaches=2)
        history = [past(5, Outcome.BREACH_PENDING, Pressure.UP)]

        result = decide(pool, current_size=4, cpu=None, ram=90, now=NOW, history=history)

        assert result.outcome is Outcome.SCALE_UP

    def test_nothing_measured_holds(self) -> None:
        result = decide(self.POOL, current_size=4, cpu=None, ram=None, now=NOW)

        assert result.outcome is Outcome.HOLD_MISSING_METRICS


def test_a_failed_evaluation_is_recorded_as_an_error() -> None:
    result = failed_decision(POOL, error="OCI refused the credentials", now=NOW, current_size=4)

    assert result == ScalingDecision(
        outcome=Outcome.ERROR,
        current_size=4,
        target_size=4,
        reason=decision_module.REASON_ERROR.format(error="OCI refused the credentials"),
        at=NOW,
    )
    assert not result.changes_size
