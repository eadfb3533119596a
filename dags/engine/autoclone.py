"""AutoClone as plain data: a DAG's `autoclone` section, its four states and what to do next.

From ``ramp_up_time`` the manager creates one clone per minute until there are ``ramp_count``;
from ``ramp_down_time`` it deletes one clone per minute, oldest first, until none is left. The
decision reads only what the database holds (the clones and the state row), so a manager that
was down, restarted mid-ramp or runs twice carries on from where things are.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, time
from enum import StrEnum
from typing import Any

NO_SECTION = "the DAG has no 'autoclone' section"
NOT_A_MAPPING = "the 'autoclone' section must be a mapping"
MISSING_FIELDS = "the 'autoclone' section lacks {fields}"
BAD_TIME = "{field} must be a time written HHMM (0000 to 2359), got {value!r}"
BAD_COUNT = "ramp_count must be a whole number, got {value!r}"
COUNT_NOT_POSITIVE = "ramp_count must be greater than 0, got {value}"
SAME_TIMES = "ramp_up_time and ramp_down_time are both {value}: the window would be empty"

REQUIRED_FIELDS: tuple[str, ...] = ("ramp_up_time", "ramp_down_time", "ramp_count")


class AutoCloneState(StrEnum):
    """Where a parent DAG is in its daily cycle."""

    IDLE = "idle"
    """No clones, none due."""
    RAMPING_UP = "ramping_up"
    """Inside the window, fewer clones than ramp_count: one more each minute."""
    ACTIVE = "active"
    """Inside the window with all ramp_count clones running."""
    RAMPING_DOWN = "ramping_down"
    """Outside the window (or disabled) with clones left: one fewer each minute, oldest first."""


class Action(StrEnum):
    CREATE = "create"
    DELETE = "delete"
    SET_STATE = "set_state"
    NOTHING = "nothing"


@dataclass(frozen=True, slots=True)
class AutoCloneConfig:
    """A parsed `autoclone` section: enabled with its window and count, or disabled with why."""

    enabled: bool
    reason: str = ""
    ramp_up_time: time | None = None
    ramp_down_time: time | None = None
    ramp_count: int = 0


@dataclass(frozen=True, slots=True)
class Decision:
    action: Action
    state: AutoCloneState
    """The state to record once the action is done."""
    clone: str | None = None
    """For DELETE: the name of the clone to stop and delete (the oldest)."""


def parse_hhmm(field: str, value: Any) -> time:
    text = (
        str(value).strip() if isinstance(value, str | int) and not isinstance(value, bool) else ""
    )
    if isinstance(value, int) and not isinstance(value, bool):
        text = f"{value:04d}"
    if len(text) != 4 or not text.isdigit():
        raise ValueError(BAD_TIME.format(field=field, value=value))
    hour, minute = int(text[:2]), int(text[2:])
    if hour > 23 or minute > 59:
        raise ValueError(BAD_TIME.format(field=field, value=value))
    return time(hour, minute)


def parse_autoclone(section: Mapping[str, Any] | None) -> AutoCloneConfig:
    """Follow the configuration decision tree: section, required fields, ramp_count > 0."""
    if section is None:
        return AutoCloneConfig(enabled=False, reason=NO_SECTION)
    if not isinstance(section, Mapping):
        return AutoCloneConfig(enabled=False, reason=NOT_A_MAPPING)
    missing = [name for name in REQUIRED_FIELDS if section.get(name) in (None, "")]
    if missing:
        return AutoCloneConfig(
            enabled=False, reason=MISSING_FIELDS.format(fields=", ".join(missing))
        )
    try:
        ramp_up = parse_hhmm("ramp_up_time", section["ramp_up_time"])
        ramp_down = parse_hhmm("ramp_down_time", section["ramp_down_time"])
    except ValueError as error:
        return AutoCloneConfig(enabled=False, reason=str(error))
    raw_count = section["ramp_count"]
    try:
        if isinstance(raw_count, (bool, float)):
            raise ValueError
        count = int(raw_count)
    except (TypeError, ValueError):
        return AutoCloneConfig(enabled=False, reason=BAD_COUNT.format(value=raw_count))
    if count <= 0:
        return AutoCloneConfig(enabled=False, reason=COUNT_NOT_POSITIVE.format(value=count))
    if ramp_up == ramp_down:
        return AutoCloneConfig(
            enabled=False, reason=SAME_TIMES.format(value=ramp_up.strftime("%H%M"))
        )
    return AutoCloneConfig(
        enabled=True, ramp_up_time=ramp_up, ramp_down_time=ramp_down, ramp_count=count
    )


def in_window(config: AutoCloneConfig, now_local: datetime) -> bool:
    """True from ramp_up_time (inclusive) to ramp_down_time (exclusive); a window whose
    ramp_down_time is earlier than its ramp_up_time crosses midnight."""
    if not config.enabled or config.ramp_up_time is None or config.ramp_down_time is None:
        return False
    clock = now_local.time().replace(tzinfo=None)
    up, down = config.ramp_up_time, config.ramp_down_time
    if up < down:
        return up <= clock < down
    return clock >= up or clock < down


def desired_clones(config: AutoCloneConfig, now_local: datetime) -> int:
    return config.ramp_count if in_window(config, now_local) else 0


def minute_of(moment: datetime) -> datetime:
    return moment.replace(second=0, microsecond=0)


def acted_this_minute(last_action_at: datetime | None, now_local: datetime) -> bool:
    if last_action_at is None:
        return False
    if now_local.tzinfo is not None and last_action_at.tzinfo is not None:
        last_action_at = last_action_at.astimezone(now_local.tzinfo)
    return minute_of(last_action_at) >= minute_of(now_local)


def settled_state(count: int, desired: int) -> AutoCloneState:
    if count == desired:
        return AutoCloneState.ACTIVE if desired > 0 else AutoCloneState.IDLE
    return AutoCloneState.RAMPING_UP if count < desired else AutoCloneState.RAMPING_DOWN


def decide(
    config: AutoCloneConfig,
    *,
    now_local: datetime,
    clones: Sequence[tuple[str, datetime]],
    state: AutoCloneState,
    last_action_at: datetime | None,
) -> Decision:
    """What the manager does for one parent at `now_local`: at most one clone created or
    deleted per minute, aiming at ramp_count inside the window and at none outside it (or when
    AutoClone is disabled)."""
    desired = desired_clones(config, now_local)
    count = len(clones)
    if count == desired:
        target = settled_state(count, desired)
        if target == state:
            return Decision(Action.NOTHING, state)
        return Decision(Action.SET_STATE, target)
    moving = settled_state(count, desired)
    if acted_this_minute(last_action_at, now_local):
        if moving == state:
            return Decision(Action.NOTHING, state)
        return Decision(Action.SET_STATE, moving)
    if count < desired:
        return Decision(Action.CREATE, settled_state(count + 1, desired))
    oldest = min(clones, key=lambda clone: (clone[1], clone[0]))
    return Decision(Action.DELETE, settled_state(count - 1, desired), clone=oldest[0])


def status_text(state: AutoCloneState, *, clones: int, ramp_count: int) -> str:
    """The status line of the seed: "ramping_up (2/5)", "active", "ramping_down (3 remaining)",
    "idle"."""
    if state is AutoCloneState.RAMPING_UP:
        return f"ramping_up ({clones}/{ramp_count})"
    if state is AutoCloneState.RAMPING_DOWN:
        return f"ramping_down ({clones} remaining)"
    return state.value


def clone_name(parent: str, created_at_local: datetime) -> str:
    """`{parent}_{YYYYMMDDHHMMSS}` of the clone's creation time in the configured time zone."""
    return f"{parent}_{created_at_local.strftime('%Y%m%d%H%M%S')}"
