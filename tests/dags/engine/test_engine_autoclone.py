"""The AutoClone state machine, driven minute by minute without Django."""

from __future__ import annotations

from datetime import datetime, time, timedelta

import pytest

from dags.engine.autoclone import (
    BAD_COUNT,
    BAD_TIME,
    COUNT_NOT_POSITIVE,
    MISSING_FIELDS,
    NO_SECTION,
    NOT_A_MAPPING,
    SAME_TIMES,
    Action,
    AutoCloneConfig,
    AutoCloneState,
    clone_name,
    decide,
    in_window,
    parse_autoclone,
    status_text,
)

DAY = datetime(2025, 1, 25)  # noqa: DTZ001 - the engine works on local wall-clock times
CONFIG = AutoCloneConfig(
    enabled=True, ramp_up_time=time(9, 0), ramp_down_time=time(17, 0), ramp_count=5
)


def at(hour: int, minute: int, second: int = 0, day: datetime = DAY) -> datetime:
    return day.replace(hour=hour, minute=minute, second=second)


def test_a_full_section_enables_autoclone() -> None:
    config = parse_autoclone({"ramp_up_time": "0900", "ramp_down_time": "1700", "ramp_count": 5})
    assert config == CONFIG


@pytest.mark.parametrize(
    ("section", "reason"),
    [
        (None, NO_SECTION),
        ("0900", NOT_A_MAPPING),
        ({"ramp_up_time": "0900", "ramp_count": 5}, MISSING_FIELDS.format(fields="ramp_down_time")),
        (
            {"ramp_up_time": "", "ramp_down_time": "1700", "ramp_count": None},
            MISSING_FIELDS.format(fields="ramp_up_time, ramp_count"),
        ),
        ({"ramp_up_time": "0900", "ramp_down_time": "1700", "ramp_count": 0},
         COUNT_NOT_POSITIVE.format(value=0)),
        ({"ramp_up_time": "0900", "ramp_down_time": "1700", "ramp_count": -2},
         COUNT_NOT_POSITIVE.format(value=-2)),
        ({"ramp_up_time": "0900", "ramp_down_time": "1700", "ramp_count": "many"},
         BAD_COUNT.format(value="many")),
        ({"ramp_up_time": "9am", "ramp_down_time": "1700", "ramp_count": 1},
         BAD_TIME.format(field="ramp_up_time", value="9am")),
        ({"ramp_up_time": "0900", "ramp_down_time": "2460", "ramp_count": 1},
         BAD_TIME.format(field="ramp_down_time", value="2460")),
        ({"ramp_up_time": "0900", "ramp_down_time": "0900", "ramp_count": 1},
         SAME_TIMES.format(value="0900")),
    ],
)  # fmt: skip
def test_an_incomplete_section_disables_autoclone_and_says_why(section, reason: str) -> None:
    config = parse_autoclone(section)
    assert not config.enabled
    assert config.reason == reason


def run_day(config: AutoCloneConfig, start: datetime, minutes: int) -> list[tuple[datetime, str]]:
    """Tick every 10 seconds from `start`, applying each decision as the manager would."""
    clones: list[tuple[str, datetime]] = []
    state, last = AutoCloneState.IDLE, None
    log: list[tuple[datetime, str]] = []
    now = start
    while now < start + timedelta(minutes=minutes):
        decision = decide(config, now_local=now, clones=clones, state=state, last_action_at=last)
        if decision.action is Action.CREATE:
            clones.append((clone_name("my_dag", now), now))
            last = now
        elif decision.action is Action.DELETE:
            clones = [clone for clone in clones if clone[0] != decision.clone]
            last = now
        state = decision.state
        if decision.action in (Action.CREATE, Action.DELETE):
            status = status_text(state, clones=len(clones), ramp_count=config.ramp_count)
            log.append((now, f"{decision.action.value} {decision.clone or clones[-1][0]} {status}"))
        now += timedelta(seconds=10)
    return log


def test_the_day_of_the_seed_creates_five_clones_then_deletes_them_oldest_first() -> None:
    log = run_day(CONFIG, at(0, 0), 24 * 60)
    assert log == [
        (at(9, 0), "create my_dag_20250125090000 ramping_up (1/5)"),
        (at(9, 1), "create my_dag_20250125090100 ramping_up (2/5)"),
        (at(9, 2), "create my_dag_20250125090200 ramping_up (3/5)"),
        (at(9, 3), "create my_dag_20250125090300 ramping_up (4/5)"),
        (at(9, 4), "create my_dag_20250125090400 active"),
        (at(17, 0), "delete my_dag_20250125090000 ramping_down (4 remaining)"),
        (at(17, 1), "delete my_dag_20250125090100 ramping_down (3 remaining)"),
        (at(17, 2), "delete my_dag_20250125090200 ramping_down (2 remaining)"),
        (at(17, 3), "delete my_dag_20250125090300 ramping_down (1 remaining)"),
        (at(17, 4), "delete my_dag_20250125090400 idle"),
    ]


def test_a_window_across_midnight_ramps_up_at_night_and_down_in_the_morning() -> None:
    config = AutoCloneConfig(
        enabled=True, ramp_up_time=time(23, 58), ramp_down_time=time(0, 30), ramp_count=3
    )
    assert in_window(config, at(23, 59))
    assert in_window(config, at(0, 10))
    assert not in_window(config, at(0, 30))
    assert not in_window(config, at(12, 0))
    log = run_day(config, at(23, 50), 60)
    times = [when for when, _ in log]
    next_day = DAY + timedelta(days=1)
    assert times == [
        at(23, 58), at(23, 59), at(0, 0, day=next_day),
        at(0, 30, day=next_day), at(0, 31, day=next_day), at(0, 32, day=next_day),
    ]  # fmt: skip
    assert log[2][1] == "create my_dag_20250126000000 active"
    assert log[-1][1] == "delete my_dag_20250126000000 idle"


def test_nothing_happens_twice_in_one_minute() -> None:
    decision = decide(
        CONFIG,
        now_local=at(9, 0, 50),
        clones=[("a", at(9, 0, 0))],
        state=AutoCloneState.RAMPING_UP,
        last_action_at=at(9, 0, 0),
    )
    assert decision.action is Action.NOTHING


def test_a_manager_back_inside_the_window_ramps_up_from_where_it_is() -> None:
    decision = decide(
        CONFIG,
        now_local=at(11, 30),
        clones=[("a", at(9, 0)), ("b", at(9, 1))],
        state=AutoCloneState.RAMPING_UP,
        last_action_at=at(9, 1),
    )
    assert decision.action is Action.CREATE
    assert decision.state is AutoCloneState.RAMPING_UP


def test_a_manager_back_after_the_window_ramps_down_oldest_first() -> None:
    decision = decide(
        CONFIG,
        now_local=at(18, 0),
        clones=[("b", at(9, 1)), ("a", at(9, 0))],
        state=AutoCloneState.ACTIVE,
        last_action_at=at(9, 4),
    )
    assert (decision.action, decision.clone) == (Action.DELETE, "a")
    assert decision.state is AutoCloneState.RAMPING_DOWN


def test_disabled_autoclone_ramps_down_what_is_left() -> None:
    disabled = parse_autoclone(None)
    decision = decide(
        disabled,
        now_local=at(10, 0),
        clones=[("a", at(9, 0))],
        state=AutoCloneState.ACTIVE,
        last_action_at=None,
    )
    assert (decision.action, decision.clone, decision.state) == (
        Action.DELETE, "a", AutoCloneState.IDLE,
    )  # fmt: skip


def test_a_settled_state_that_differs_is_recorded() -> None:
    decision = decide(
        CONFIG, now_local=at(12, 0), clones=[], state=AutoCloneState.RAMPING_DOWN,
        last_action_at=None,
    )  # fmt: skip
    assert decision.action is Action.CREATE
    idle = decide(
        CONFIG, now_local=at(20, 0), clones=[], state=AutoCloneState.RAMPING_DOWN,
        last_action_at=None,
    )  # fmt: skip
    assert (idle.action, idle.state) == (Action.SET_STATE, AutoCloneState.IDLE)


def test_status_text_reads_as_the_seed() -> None:
    assert status_text(AutoCloneState.RAMPING_UP, clones=2, ramp_count=5) == "ramping_up (2/5)"
    assert status_text(AutoCloneState.ACTIVE, clones=5, ramp_count=5) == "active"
    assert status_text(AutoCloneState.RAMPING_DOWN, clones=3, ramp_count=5) == (
        "ramping_down (3 remaining)"
    )
    assert status_text(AutoCloneState.IDLE, clones=0, ramp_count=5) == "idle"


# Run modes: how a started DAG (and so each clone) keeps producing runs.


def test_run_mode_defaults_to_schedule_and_continuous_keeps_its_interval() -> None:
    from pathlib import Path

    from dags.engine.definition import RunMode, parse_definition

    nodes = {"a": {"command": "a.sh"}}
    plain = parse_definition({"nodes": nodes}, source="t", folder=Path("/tmp"), default_name="d")
    assert plain.run_mode is RunMode.SCHEDULE
    assert "run_mode" not in plain.to_data()
    data = {"nodes": nodes, "run_mode": "continuous", "min_run_interval_seconds": 30}
    continuous = parse_definition(data, source="t", folder=Path("/tmp"), default_name="d")
    assert (continuous.run_mode, continuous.min_run_interval_seconds) == (RunMode.CONTINUOUS, 30)
    again = parse_definition(
        continuous.to_data(), source="t", folder=Path("/tmp"), default_name="d"
    )
    assert again == continuous


def test_an_unknown_run_mode_is_refused_by_name() -> None:
    from pathlib import Path

    from dags.engine.definition import parse_definition
    from dags.engine.errors import DefinitionError

    data = {"nodes": {"a": {"command": "a.sh"}}, "run_mode": "forever"}
    with pytest.raises(DefinitionError) as error:
        parse_definition(data, source="t", folder=Path("/tmp"), default_name="d")
    assert "DAG: run_mode must be 'schedule' or 'continuous', got 'forever'" in str(error.value)
