"""Pools are validated on every save, with the file loader's own words."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from autoscaler.models import Pool, pool_fields_from_config
from autoscaler.pool_config import PoolConfigError, load_pools_yaml

pytestmark = pytest.mark.django_db


def pool_fields(**overrides: object) -> dict[str, object]:
    fields: dict[str, object] = {
        "name": "web",
        "provider": "oci",
        "instance_pool_id": "ocid1.instancepool.oc1..web",
        "region": "us-ashburn-1",
        "monitoring_method": "oci",
        "cpu_threshold": 80,
        "ram_threshold": 80,
        "min_size": 1,
        "max_size": 4,
    }
    fields.update(overrides)
    return fields


def test_saving_a_pool_with_an_unknown_monitoring_method_is_refused_and_saves_nothing() -> None:
    with pytest.raises(PoolConfigError) as refused:
        Pool(**pool_fields(monitoring_method="datadog")).save()

    assert str(refused.value) == (
        "pool web: unknown monitoring_method 'datadog' (known: oci, prometheus, local)"
    )
    assert Pool.objects.count() == 0


def test_a_form_sees_the_same_refusal_as_a_validation_error() -> None:
    pool = Pool(**pool_fields(min_size=5, max_size=2))

    with pytest.raises(ValidationError) as refused:
        pool.full_clean()

    assert refused.value.messages == [
        "pool web: scaling_limits.min (5) is above scaling_limits.max (2)"
    ]


def test_a_pool_read_from_config_yaml_saves_and_reads_back_the_same_config() -> None:
    text = (
        "pools:\n"
        "  - instance_pool_id: ocid1.instancepool.oc1..api\n"
        "    region: eu-frankfurt-1\n"
        "    monitoring_method: prometheus\n"
        "    prometheus_url: http://prometheus:9090\n"
        "    cpu_threshold: 70\n"
        "    ram_threshold: 85.5\n"
        "    scaling_limits: {min: 2, max: 10}\n"
        "    sustained_breaches: 3\n"
        "    schedules:\n"
        "      - {name: nights, start_time: '22:00', end_time: '06:00', target_instances: 2,\n"
        "         days: [friday], timezone: Europe/Berlin}\n"
    )
    [config] = load_pools_yaml(text)

    pool = Pool.objects.create(**pool_fields_from_config(config))

    assert Pool.objects.get(pk=pool.pk).to_config() == config
    assert pool.name == "ocid1.instancepool.oc1..api"
