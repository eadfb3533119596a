"""Fixtures for the autoscaler's cloud tests: the OCI stand-in and a configuration for it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from autoscaler.pool_config import PoolConfig, ScalingLimits
from tests.fakes.oci_api import FakeOciApi, make_oci_config

POOL_ID = "ocid1.instancepool.oc1..web"


@pytest.fixture
def fake_oci() -> Iterator[FakeOciApi]:
    with FakeOciApi() as fake:
        yield fake


@pytest.fixture
def oci_config(tmp_path: Path) -> dict[str, str]:
    return make_oci_config(tmp_path)


@pytest.fixture
def sleeps() -> list[float]:
    """Collects the backoff delays instead of waiting them."""
    return []


@pytest.fixture
def web_pool() -> PoolConfig:
    return PoolConfig(
        instance_pool_id=POOL_ID,
        region="us-ashburn-1",
        monitoring_method="oci",
        cpu_threshold=80,
        ram_threshold=80,
        scaling_limits=ScalingLimits(min=1, max=6),
        name="web",
    )
