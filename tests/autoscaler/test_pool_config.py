"""Loading pools: the agents' config.yaml loads unchanged, and bad input names pool and field."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from autoscaler import pool_config
from autoscaler.pool_config import (
    MissingMetricsFallback,
    PoolConfig,
    PoolConfigError,
    ScalingLimits,
    Schedule,
    dump_pools_yaml,
    load_pools_yaml,
    pool_to_mapping,
)

# The example config.yaml from the agents' design, byte for byte (whitespace-only lines included).
SEED_CONFIG_YAML = (Path(__file__).parent / "data" / "config.yaml").read_text(encoding="utf-8")

POOL_ID = "ocid1.instancepool.oc1..pool"


def pool_yaml(**overrides: str) -> str:
    """A one-pool file whose fields can be replaced by raw YAML fragments."""
    fields = {
        "instance_pool_id": f'"{POOL_ID}"',
        "region": '"us-ashburn-1"',
        "monitoring_method": '"oci"',
        "cpu_threshold": "80",
        "ram_threshold": "80",
        "scaling_limits": "{min: 2, max: 10}",
    }
    fields.update(overrides)
    lines = [f"    {key}: {value}" for key, value in fields.items() if value != "<absent>"]
    return "pools:\n  -\n" + "\n".join(lines) + "\n"


def refusal(text: str) -> str:
    with pytest.raises(PoolConfigError) as caught:
        load_pools_yaml(text)
    return str(caught.value)


def test_the_original_config_yaml_loads_unchanged() -> None:
    [pool] = load_pools_yaml(SEED_CONFIG_YAML)

    assert pool == PoolConfig(
        instance_pool_id="ocid1.instancepool.oc1...",
        region="us-ashburn-1",
        monitoring_method="oci",
        cpu_threshold=80.0,
        ram_threshold=80.0,
        scaling_limits=ScalingLimits(min=2, max=10),
        schedules=(
            Schedule(
                name="business_hours",
                start_time=dt.time(8, 0),
                end_time=dt.time(18, 0),
                target_instances=5,
            ),
        ),
    )


def test_knobs_beyond_the_original_default_to_its_behaviour() -> None:
    [pool] = load_pools_yaml(SEED_CONFIG_YAML)

    assert pool.provider == "oci"
    assert pool.evaluation_interval_seconds == 300
    assert pool.scale_up_cooldown_seconds == 0
    assert pool.scale_down_cooldown_seconds == 0
    assert pool.sustained_breaches == 1
    assert pool.paused is False
    assert pool.missing_metrics is MissingMetricsFallback.HOLD
    assert pool.label == "ocid1.instancepool.oc1..."


def test_every_optional_knob_is_read() -> None:
    text = pool_yaml(
        name="web",
        provider="oci",
        evaluation_interval_seconds="60",
        scale_up_cooldown_seconds="120",
        scale_down_cooldown_seconds="600",
        sustained_breaches="3",
        paused="true",
        missing_metrics="use_available",
        schedules=(
            '[{name: night, start_time: "22:00", end_time: "06:00", target_instances: 2,'
            ' days: [Fri, saturday], timezone: "Europe/Paris"}]'
        ),
    )

    [pool] = load_pools_yaml(text)

    assert (pool.name, pool.label) == ("web", "web")
    assert pool.evaluation_interval_seconds == 60
    assert (pool.scale_up_cooldown_seconds, pool.scale_down_cooldown_seconds) == (120, 600)
    assert pool.sustained_breaches == 3
    assert pool.paused is True
    assert pool.missing_metrics is MissingMetricsFallback.USE_AVAILABLE
    assert pool.schedules == (
        Schedule(
            name="night",
            start_time=dt.time(22, 0),
            end_time=dt.time(6, 0),
            target_instances=2,
            days=frozenset({4, 5}),
            timezone="Europe/Paris",
        ),
    )


def test_a_local_pool_needs_no_region() -> None:
    [pool] = load_pools_yaml(
        pool_yaml(provider="local", monitoring_method="local", region="<absent>")
    )

    assert (pool.provider, pool.region) == ("local", "")


def test_unknown_monitoring_method_is_refused_naming_pool_and_value() -> None:
    message = refusal(pool_yaml(monitoring_method="datadog"))

    assert message == pool_config.ERR_UNKNOWN_METHOD.format(
        pool=POOL_ID, value="datadog", known="oci, prometheus, local"
    )


def test_min_above_max_is_refused() -> None:
    message = refusal(pool_yaml(scaling_limits="{min: 5, max: 3}"))

    assert message == pool_config.ERR_MIN_ABOVE_MAX.format(pool=POOL_ID, min=5, max=3)


def test_a_badly_written_time_is_refused_naming_the_schedule() -> None:
    text = pool_yaml(
        schedules='[{name: morning, start_time: "8am", end_time: "12:00", target_instances: 3}]'
    )

    assert refusal(text) == pool_config.ERR_BAD_TIME.format(
        pool=POOL_ID, schedule="morning", field="start_time", value="8am"
    )


def test_an_unquoted_time_that_yaml_turned_into_a_number_is_refused() -> None:
    text = pool_yaml(
        schedules="[{name: evening, start_time: 18:00, end_time: '23:00', target_instances: 3}]"
    )

    assert refusal(text) == pool_config.ERR_BAD_TIME.format(
        pool=POOL_ID, schedule="evening", field="start_time", value=1080
    )


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        (
            {"cpu_threshold": "0"},
            pool_config.ERR_THRESHOLD.format(pool=POOL_ID, field="cpu_threshold", value=0),
        ),
        (
            {"ram_threshold": "150"},
            pool_config.ERR_THRESHOLD.format(pool=POOL_ID, field="ram_threshold", value=150),
        ),
        (
            {"ram_threshold": "<absent>"},
            pool_config.ERR_MISSING_FIELD.format(pool=POOL_ID, field="ram_threshold"),
        ),
        (
            {"region": "<absent>"},
            pool_config.ERR_MISSING_FIELD.format(pool=POOL_ID, field="region"),
        ),
        (
            {"cpu_treshold": "80"},
            pool_config.ERR_UNKNOWN_FIELD.format(
                pool=POOL_ID, field="cpu_treshold", known=", ".join(pool_config._POOL_FIELDS)
            ),
        ),
        (
            {"scaling_limits": "{min: -1, max: 3}"},
            pool_config.ERR_NEGATIVE.format(pool=POOL_ID, field="scaling_limits.min", value=-1),
        ),
        (
            {"scaling_limits": "[2, 10]"},
            pool_config.ERR_LIMITS_NOT_MAPPING.format(pool=POOL_ID),
        ),
        (
            {"provider": "aws"},
            pool_config.ERR_UNKNOWN_PROVIDER.format(pool=POOL_ID, value="aws", known="oci, local"),
        ),
        (
            {"sustained_breaches": "0"},
            pool_config.ERR_BELOW_ONE.format(pool=POOL_ID, field="sustained_breaches", value=0),
        ),
        (
            {"paused": '"yes"'},
            pool_config.ERR_NOT_BOOLEAN.format(pool=POOL_ID, field="paused", value="yes"),
        ),
        (
            {"missing_metrics": "guess"},
            pool_config.ERR_UNKNOWN_FALLBACK.format(
                pool=POOL_ID, value="guess", known="hold, use_available"
            ),
        ),
        (
            {"scale_up_cooldown_seconds": "1.5"},
            pool_config.ERR_NOT_INTEGER.format(
                pool=POOL_ID, field="scale_up_cooldown_seconds", value=1.5
            ),
        ),
    ],
)
def test_bad_pool_fields_are_refused_with_their_name(
    overrides: dict[str, str], expected: str
) -> None:
    assert refusal(pool_yaml(**overrides)) == expected


@pytest.mark.parametrize(
    ("schedule", "expected"),
    [
        (
            '{name: a, start_time: "09:00", end_time: "09:00", target_instances: 3}',
            pool_config.ERR_EMPTY_WINDOW.format(pool=POOL_ID, schedule="a", time="09:00"),
        ),
        (
            '{name: a, start_time: "09:00", end_time: "10:00", target_instances: 11}',
            pool_config.ERR_TARGET_OUTSIDE_LIMITS.format(
                pool=POOL_ID, schedule="a", target=11, min=2, max=10
            ),
        ),
        (
            '{name: a, start_time: "09:00", end_time: "10:00", target_instances: 3, days: [fun]}',
            pool_config.ERR_BAD_DAY.format(pool=POOL_ID, schedule="a", value="fun"),
        ),
        (
            '{name: a, start_time: "09:00", end_time: "10:00", target_instances: 3,'
            ' timezone: "Mars/Olympus"}',
            pool_config.ERR_BAD_TIMEZONE.format(
                pool=POOL_ID, value="Mars/Olympus", field="schedules.a.timezone"
            ),
        ),
        (
            '{name: a, start_time: "24:00", end_time: "10:00", target_instances: 3}',
            pool_config.ERR_BAD_TIME.format(
                pool=POOL_ID, schedule="a", field="start_time", value="24:00"
            ),
        ),
        (
            '{name: a, start_time: "09:00", end_time: "10:00"}',
            pool_config.ERR_MISSING_FIELD.format(
                pool=POOL_ID, field="schedules.a.target_instances"
            ),
        ),
    ],
)
def test_bad_schedules_are_refused_naming_the_schedule(schedule: str, expected: str) -> None:
    assert refusal(pool_yaml(schedules=f"[{schedule}]")) == expected


def test_two_schedules_with_one_name_are_refused() -> None:
    window = '{name: a, start_time: "09:00", end_time: "10:00", target_instances: 3}'

    message = refusal(pool_yaml(schedules=f"[{window}, {window}]"))

    assert message == pool_config.ERR_DUPLICATE_SCHEDULE.format(pool=POOL_ID, schedule="a")


def test_the_same_pool_twice_is_refused() -> None:
    one = pool_yaml().removeprefix("pools:\n")

    assert refusal("pools:\n" + one + one) == pool_config.ERR_DUPLICATE_POOL.format(pool=POOL_ID)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("pools: [", None),
        ("nodes: []", pool_config.ERR_NO_POOLS),
        ("- a\n- b", pool_config.ERR_NO_POOLS),
        ("pools:\n  - just a string", pool_config.ERR_POOL_NOT_MAPPING.format(index=1)),
    ],
)
def test_a_file_without_a_pools_list_is_refused(text: str, expected: str | None) -> None:
    message = refusal(text)

    if expected is None:
        assert message.startswith("pool configuration is not valid YAML: ")
    else:
        assert message == expected


def test_an_exported_config_reads_back_unchanged() -> None:
    pools = load_pools_yaml(SEED_CONFIG_YAML)

    assert load_pools_yaml(dump_pools_yaml(pools)) == pools


def test_an_exported_original_pool_carries_no_extra_knobs() -> None:
    [pool] = load_pools_yaml(SEED_CONFIG_YAML)

    assert pool_to_mapping(pool) == {
        "instance_pool_id": "ocid1.instancepool.oc1...",
        "region": "us-ashburn-1",
        "monitoring_method": "oci",
        "cpu_threshold": 80,
        "ram_threshold": 80,
        "scaling_limits": {"min": 2, "max": 10},
        "schedules": [
            {
                "name": "business_hours",
                "start_time": "08:00",
                "end_time": "18:00",
                "target_instances": 5,
            }
        ],
    }


def test_every_knob_survives_an_export() -> None:
    text = pool_yaml(
        name="web",
        cpu_threshold="72.5",
        scale_up_cooldown_seconds="120",
        scale_down_cooldown_seconds="600",
        sustained_breaches="3",
        paused="true",
        missing_metrics="use_available",
        evaluation_interval_seconds="60",
        prometheus_url='"http://127.0.0.1:9090"',
        schedules=(
            '[{name: night, start_time: "22:00", end_time: "06:00", target_instances: 2,'
            ' days: [sun, Mon], timezone: "Europe/Paris"}]'
        ),
    )
    pools = load_pools_yaml(text)

    exported = dump_pools_yaml(pools)

    assert load_pools_yaml(exported) == pools
    assert "days:\n    - monday\n    - sunday\n" in exported
    assert "missing_metrics: use_available\n" in exported
