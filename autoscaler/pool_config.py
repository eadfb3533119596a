"""Pool definitions as frozen data, and the loader for the agents' ``config.yaml``.

An autoscaler acts on cloud capacity unattended, so a typo in its configuration must fail when the
file is loaded, naming the pool and the field, never at 3 a.m. in the middle of an evaluation.
The file format is the agents' ``pools:`` list; every knob beyond it is optional and defaults to
the original behaviour, so an existing ``config.yaml`` loads unchanged.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import enum
import math
import re
import zoneinfo
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import yaml

MONITORING_METHODS = ("oci", "prometheus", "local")
PROVIDERS = ("oci", "local")
DEFAULT_EVALUATION_INTERVAL_SECONDS = 300

DAY_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")

ERR_NOT_YAML = "pool configuration is not valid YAML: {error}"
ERR_NO_POOLS = "pool configuration needs a top-level 'pools:' list"
ERR_POOL_NOT_MAPPING = "pool #{index}: each entry of 'pools' must be a mapping"
ERR_UNKNOWN_FIELD = "pool {pool}: unknown field '{field}' (known: {known})"
ERR_MISSING_FIELD = "pool {pool}: '{field}' is required"
ERR_DUPLICATE_POOL = "pool {pool}: appears more than once in 'pools'"
ERR_NOT_TEXT = "pool {pool}: '{field}' must be a non-empty string, got {value!r}"
ERR_NOT_INTEGER = "pool {pool}: '{field}' must be a whole number, got {value!r}"
ERR_NOT_BOOLEAN = "pool {pool}: '{field}' must be true or false, got {value!r}"
ERR_NEGATIVE = "pool {pool}: '{field}' must be 0 or more, got {value!r}"
ERR_BELOW_ONE = "pool {pool}: '{field}' must be 1 or more, got {value!r}"
ERR_THRESHOLD = "pool {pool}: '{field}' must be a percentage above 0 and at most 100, got {value!r}"
ERR_UNKNOWN_METHOD = "pool {pool}: unknown monitoring_method {value!r} (known: {known})"
ERR_UNKNOWN_PROVIDER = "pool {pool}: unknown provider {value!r} (known: {known})"
ERR_UNKNOWN_FALLBACK = "pool {pool}: unknown missing_metrics {value!r} (known: {known})"
ERR_MIN_ABOVE_MAX = "pool {pool}: scaling_limits.min ({min}) is above scaling_limits.max ({max})"
ERR_LIMITS_NOT_MAPPING = "pool {pool}: 'scaling_limits' must be a mapping with 'min' and 'max'"
ERR_SCHEDULES_NOT_LIST = "pool {pool}: 'schedules' must be a list"
ERR_SCHEDULE_NOT_MAPPING = "pool {pool}: schedule #{index} must be a mapping"
ERR_BAD_TIME = 'pool {pool}: schedule {schedule} {field} must be a quoted "HH:MM", got {value!r}'
ERR_EMPTY_WINDOW = "pool {pool}: schedule {schedule} starts and ends at {time}: the window is empty"
ERR_TARGET_OUTSIDE_LIMITS = (
    "pool {pool}: schedule {schedule} target_instances {target} is outside scaling_limits "
    "[{min}, {max}]"
)
ERR_BAD_DAY = "pool {pool}: schedule {schedule} has unknown day {value!r} (use monday..sunday)"
ERR_BAD_TIMEZONE = "pool {pool}: unknown timezone {value!r} in '{field}'"
ERR_DUPLICATE_SCHEDULE = "pool {pool}: schedule name {schedule!r} is used twice"


class PoolConfigError(ValueError):
    """A pool definition that Dagyard refuses; the message names the pool and the field.

    ``field`` is the entry's top-level key at fault (``scaling_limits`` for a bad ``min``,
    ``schedules`` for anything inside a schedule), or None when the refusal is about the whole
    entry or file; the API files its 400 under it.
    """

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class MissingMetricsFallback(enum.StrEnum):
    """What an evaluation does when the average CPU or RAM could not be measured.

    HOLD is the original behaviour: the round changes nothing and says why. USE_AVAILABLE lets a
    single measured metric above its threshold still scale up (a pool on fire whose memory agent
    died should still grow); it never scales down, which needs both metrics to prove the pool idle.
    """

    HOLD = "hold"
    USE_AVAILABLE = "use_available"


@dataclass(frozen=True)
class ScalingLimits:
    """The pool's size is kept within ``[min, max]`` by metric scaling."""

    min: int
    max: int


@dataclass(frozen=True)
class Schedule:
    """A daily window during which the pool is held at ``target_instances``.

    ``days`` are the weekdays (0 = Monday) on which the window *starts*; a window that crosses
    midnight belongs to the day it started. ``timezone`` is an IANA name; without it the window is
    read in the time zone of the clock handed to the schedule functions.
    """

    name: str
    start_time: dt.time
    end_time: dt.time
    target_instances: int
    days: frozenset[int] | None = None
    timezone: str | None = None

    @property
    def crosses_midnight(self) -> bool:
        return self.end_time < self.start_time


@dataclass(frozen=True)
class PoolConfig:
    """One scaled pool: where it lives, how it is measured, and the rules that size it."""

    instance_pool_id: str
    region: str
    monitoring_method: str
    cpu_threshold: float
    ram_threshold: float
    scaling_limits: ScalingLimits
    schedules: tuple[Schedule, ...] = ()
    name: str = ""
    provider: str = "oci"
    evaluation_interval_seconds: int = DEFAULT_EVALUATION_INTERVAL_SECONDS
    scale_up_cooldown_seconds: int = 0
    scale_down_cooldown_seconds: int = 0
    sustained_breaches: int = 1
    paused: bool = False
    missing_metrics: MissingMetricsFallback = MissingMetricsFallback.HOLD
    prometheus_url: str | None = None

    @property
    def label(self) -> str:
        """The name people read in messages: the pool's name, or its cloud id."""
        return self.name or self.instance_pool_id


_POOL_FIELDS = (
    "instance_pool_id",
    "region",
    "monitoring_method",
    "cpu_threshold",
    "ram_threshold",
    "scaling_limits",
    "schedules",
    "name",
    "provider",
    "evaluation_interval_seconds",
    "scale_up_cooldown_seconds",
    "scale_down_cooldown_seconds",
    "sustained_breaches",
    "paused",
    "missing_metrics",
    "prometheus_url",
)
# The optional knobs beyond the original format, with their defaults, for exporting.
_KNOBS = tuple(
    knob
    for knob in dataclasses.fields(PoolConfig)
    if knob.name not in ("schedules", "name") and knob.default is not dataclasses.MISSING
)
_SCHEDULE_FIELDS = ("name", "start_time", "end_time", "target_instances", "days", "timezone")
_TIME = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
_DAY_ABBREVIATIONS = {name[:3]: index for index, name in enumerate(DAY_NAMES)}


def load_pools_yaml(text: str) -> list[PoolConfig]:
    """Parse a ``config.yaml`` with a ``pools:`` list, refusing the whole file on any bad pool."""
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise PoolConfigError(ERR_NOT_YAML.format(error=error)) from error
    if not isinstance(document, Mapping) or not isinstance(document.get("pools"), list):
        raise PoolConfigError(ERR_NO_POOLS)
    pools = [pool_from_mapping(raw, index=i) for i, raw in enumerate(document["pools"], start=1)]
    seen: set[str] = set()
    for pool in pools:
        if pool.label in seen:
            raise PoolConfigError(ERR_DUPLICATE_POOL.format(pool=pool.label))
        seen.add(pool.label)
    return pools


def pool_from_mapping(raw: Any, *, index: int = 1) -> PoolConfig:
    """Build one validated :class:`PoolConfig` from a parsed mapping (YAML, JSON or a form)."""
    if not isinstance(raw, Mapping):
        raise PoolConfigError(ERR_POOL_NOT_MAPPING.format(index=index))
    label = _pool_label(raw, index)
    _refuse_unknown_fields(raw, _POOL_FIELDS, label)
    for required in (
        "instance_pool_id",
        "monitoring_method",
        "cpu_threshold",
        "ram_threshold",
        "scaling_limits",
    ):
        if raw.get(required) is None:
            raise PoolConfigError(
                ERR_MISSING_FIELD.format(pool=label, field=required), field=required
            )

    provider = _text(raw, "provider", label, default="oci")
    if provider not in PROVIDERS:
        raise PoolConfigError(
            ERR_UNKNOWN_PROVIDER.format(pool=label, value=provider, known=", ".join(PROVIDERS)),
            field="provider",
        )
    method = _text(raw, "monitoring_method", label)
    if method not in MONITORING_METHODS:
        raise PoolConfigError(
            ERR_UNKNOWN_METHOD.format(
                pool=label, value=method, known=", ".join(MONITORING_METHODS)
            ),
            field="monitoring_method",
        )
    if provider == "oci" and raw.get("region") is None:
        raise PoolConfigError(ERR_MISSING_FIELD.format(pool=label, field="region"), field="region")
    fallback_text = _text(raw, "missing_metrics", label, default=MissingMetricsFallback.HOLD.value)
    try:
        fallback = MissingMetricsFallback(fallback_text)
    except ValueError:
        known = ", ".join(member.value for member in MissingMetricsFallback)
        raise PoolConfigError(
            ERR_UNKNOWN_FALLBACK.format(pool=label, value=fallback_text, known=known),
            field="missing_metrics",
        ) from None

    with _inside("scaling_limits"):
        limits = _limits(raw["scaling_limits"], label)
    with _inside("schedules"):
        schedules = _schedules(raw.get("schedules"), label, limits)
    return PoolConfig(
        instance_pool_id=_text(raw, "instance_pool_id", label),
        region=_text(raw, "region", label, default=""),
        monitoring_method=method,
        cpu_threshold=_threshold(raw, "cpu_threshold", label),
        ram_threshold=_threshold(raw, "ram_threshold", label),
        scaling_limits=limits,
        schedules=schedules,
        name=_text(raw, "name", label, default=""),
        provider=provider,
        evaluation_interval_seconds=_integer(
            raw, "evaluation_interval_seconds", label, DEFAULT_EVALUATION_INTERVAL_SECONDS, least=1
        ),
        scale_up_cooldown_seconds=_integer(raw, "scale_up_cooldown_seconds", label, 0, least=0),
        scale_down_cooldown_seconds=_integer(raw, "scale_down_cooldown_seconds", label, 0, least=0),
        sustained_breaches=_integer(raw, "sustained_breaches", label, 1, least=1),
        paused=_boolean(raw, "paused", label, default=False),
        missing_metrics=fallback,
        prometheus_url=_text(raw, "prometheus_url", label, default="") or None,
    )


def pool_to_mapping(pool: PoolConfig) -> dict[str, Any]:
    """The mapping :func:`pool_from_mapping` reads back: original fields first, then only the
    knobs that differ from their defaults, so an exported file stays as short as the original."""
    mapping: dict[str, Any] = {}
    if pool.name:
        mapping["name"] = pool.name
    mapping.update(
        instance_pool_id=pool.instance_pool_id,
        region=pool.region,
        monitoring_method=pool.monitoring_method,
        cpu_threshold=_plain_number(pool.cpu_threshold),
        ram_threshold=_plain_number(pool.ram_threshold),
        scaling_limits={"min": pool.scaling_limits.min, "max": pool.scaling_limits.max},
    )
    if not pool.region:
        del mapping["region"]
    if pool.schedules:
        mapping["schedules"] = [_schedule_to_mapping(schedule) for schedule in pool.schedules]
    for knob in _KNOBS:
        value = getattr(pool, knob.name)
        if value != knob.default:
            mapping[knob.name] = value.value if isinstance(value, enum.Enum) else value
    return mapping


def dump_pools_yaml(pools: list[PoolConfig]) -> str:
    """A ``config.yaml`` text for ``pools`` that :func:`load_pools_yaml` reads back unchanged."""
    document = {"pools": [pool_to_mapping(pool) for pool in pools]}
    return yaml.safe_dump(document, sort_keys=False, default_flow_style=False)


def _schedule_to_mapping(schedule: Schedule) -> dict[str, Any]:
    mapping: dict[str, Any] = {
        "name": schedule.name,
        "start_time": schedule.start_time.strftime("%H:%M"),
        "end_time": schedule.end_time.strftime("%H:%M"),
        "target_instances": schedule.target_instances,
    }
    if schedule.days is not None:
        mapping["days"] = [DAY_NAMES[day] for day in sorted(schedule.days)]
    if schedule.timezone:
        mapping["timezone"] = schedule.timezone
    return mapping


def _plain_number(value: float) -> int | float:
    return int(value) if float(value).is_integer() else value


def parse_hhmm(value: Any) -> dt.time | None:
    """Read a 24-hour ``"HH:MM"``; ``None`` for anything else (YAML may turn 18:00 into 1080)."""
    match = _TIME.match(value) if isinstance(value, str) else None
    if match is None:
        return None
    return dt.time(int(match.group(1)), int(match.group(2)))


def _pool_label(raw: Mapping[str, Any], index: int) -> str:
    for key in ("name", "instance_pool_id"):
        value = raw.get(key)
        if isinstance(value, str) and value.strip():
            return value
    return f"#{index}"


@contextlib.contextmanager
def _inside(field: str) -> Iterator[None]:
    """File a refusal found inside a nested value under the entry's key that holds it; the
    message already names the exact place (``scaling_limits.min``, a schedule's name)."""
    try:
        yield
    except PoolConfigError as error:
        error.field = field
        raise


def _refuse_unknown_fields(raw: Mapping[str, Any], known: tuple[str, ...], label: str) -> None:
    for key in raw:
        if key not in known:
            raise PoolConfigError(
                ERR_UNKNOWN_FIELD.format(pool=label, field=key, known=", ".join(known)),
                field=str(key),
            )


def _text(raw: Mapping[str, Any], name: str, label: str, default: str | None = None) -> str:
    value = raw.get(name)
    if value is None and default is not None:
        return default
    if not isinstance(value, str) or not value.strip():
        raise PoolConfigError(ERR_NOT_TEXT.format(pool=label, field=name, value=value), field=name)
    return value.strip()


def _integer(raw: Mapping[str, Any], name: str, label: str, default: int, *, least: int) -> int:
    value = raw.get(name, default)
    return _checked_integer(value, name, label, least=least)


def _checked_integer(value: Any, name: str, label: str, *, least: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise PoolConfigError(
            ERR_NOT_INTEGER.format(pool=label, field=name, value=value), field=name
        )
    if value < least:
        template = ERR_NEGATIVE if least == 0 else ERR_BELOW_ONE
        raise PoolConfigError(template.format(pool=label, field=name, value=value), field=name)
    return value


def _boolean(raw: Mapping[str, Any], name: str, label: str, *, default: bool) -> bool:
    value = raw.get(name, default)
    if not isinstance(value, bool):
        raise PoolConfigError(
            ERR_NOT_BOOLEAN.format(pool=label, field=name, value=value), field=name
        )
    return value


def _threshold(raw: Mapping[str, Any], name: str, label: str) -> float:
    value = raw.get(name)
    if isinstance(value, int | float) and not isinstance(value, bool):
        number = float(value)
        if math.isfinite(number) and 0 < number <= 100:
            return number
    raise PoolConfigError(ERR_THRESHOLD.format(pool=label, field=name, value=value), field=name)


def _limits(raw: Any, label: str) -> ScalingLimits:
    if not isinstance(raw, Mapping) or "min" not in raw or "max" not in raw:
        raise PoolConfigError(ERR_LIMITS_NOT_MAPPING.format(pool=label))
    _refuse_unknown_fields(raw, ("min", "max"), label)
    low = _checked_integer(raw["min"], "scaling_limits.min", label, least=0)
    high = _checked_integer(raw["max"], "scaling_limits.max", label, least=0)
    if low > high:
        raise PoolConfigError(ERR_MIN_ABOVE_MAX.format(pool=label, min=low, max=high))
    return ScalingLimits(min=low, max=high)


def _schedules(raw: Any, label: str, limits: ScalingLimits) -> tuple[Schedule, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise PoolConfigError(ERR_SCHEDULES_NOT_LIST.format(pool=label))
    schedules: list[Schedule] = []
    for index, entry in enumerate(raw, start=1):
        schedule = _schedule(entry, label, index, limits)
        if any(existing.name == schedule.name for existing in schedules):
            raise PoolConfigError(ERR_DUPLICATE_SCHEDULE.format(pool=label, schedule=schedule.name))
        schedules.append(schedule)
    return tuple(schedules)


def _schedule(raw: Any, label: str, index: int, limits: ScalingLimits) -> Schedule:
    if not isinstance(raw, Mapping):
        raise PoolConfigError(ERR_SCHEDULE_NOT_MAPPING.format(pool=label, index=index))
    _refuse_unknown_fields(raw, _SCHEDULE_FIELDS, label)
    name = _text(raw, "name", label)
    times: dict[str, dt.time] = {}
    for key in ("start_time", "end_time"):
        parsed = parse_hhmm(raw.get(key))
        if parsed is None:
            raise PoolConfigError(
                ERR_BAD_TIME.format(pool=label, schedule=name, field=key, value=raw.get(key))
            )
        times[key] = parsed
    if times["start_time"] == times["end_time"]:
        raise PoolConfigError(
            ERR_EMPTY_WINDOW.format(pool=label, schedule=name, time=raw["start_time"])
        )
    if raw.get("target_instances") is None:
        raise PoolConfigError(
            ERR_MISSING_FIELD.format(pool=label, field=f"schedules.{name}.target_instances")
        )
    target = _checked_integer(raw["target_instances"], "target_instances", label, least=0)
    if not limits.min <= target <= limits.max:
        raise PoolConfigError(
            ERR_TARGET_OUTSIDE_LIMITS.format(
                pool=label, schedule=name, target=target, min=limits.min, max=limits.max
            )
        )
    timezone = raw.get("timezone")
    if timezone is not None:
        timezone = _checked_timezone(timezone, label, f"schedules.{name}.timezone")
    return Schedule(
        name=name,
        start_time=times["start_time"],
        end_time=times["end_time"],
        target_instances=target,
        days=_days(raw.get("days"), label, name),
        timezone=timezone,
    )


def _days(raw: Any, label: str, schedule: str) -> frozenset[int] | None:
    if raw is None:
        return None
    entries = raw if isinstance(raw, list) else [raw]
    days: set[int] = set()
    for entry in entries:
        word = entry.strip().lower() if isinstance(entry, str) else ""
        if word not in DAY_NAMES and word not in _DAY_ABBREVIATIONS:
            raise PoolConfigError(ERR_BAD_DAY.format(pool=label, schedule=schedule, value=entry))
        days.add(_DAY_ABBREVIATIONS[word[:3]])
    if not days:
        raise PoolConfigError(ERR_BAD_DAY.format(pool=label, schedule=schedule, value=raw))
    return frozenset(days)


def _checked_timezone(value: Any, label: str, name: str) -> str:
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, TypeError):
        message = ERR_BAD_TIMEZONE.format(pool=label, value=value, field=name)
        raise PoolConfigError(message) from None
    return str(value)
