"""The OCI provider through the real ``oci`` SDK, against the loopback stand-in."""

from __future__ import annotations

import http.client
import socket
from urllib.parse import urlsplit

import pytest

from autoscaler.pool_config import PoolConfig
from autoscaler.providers import oci as oci_provider
from autoscaler.providers.base import (
    Instance,
    InvalidCredentials,
    InvalidPool,
    Provider,
    ProviderError,
    ProviderUnavailable,
    RetryPolicy,
)
from autoscaler.providers.oci import OciInstancePools
from tests.fakes.oci_api import DEFAULT_COMPARTMENT, FakeOciApi

POOL_ID = "ocid1.instancepool.oc1..web"  # the id of the web_pool fixture


@pytest.fixture
def pools(
    fake_oci: FakeOciApi, oci_config: dict[str, str], sleeps: list[float]
) -> OciInstancePools:
    return OciInstancePools(oci_config, service_endpoint=fake_oci.endpoint, sleep=sleeps.append)


def test_the_oci_provider_satisfies_the_provider_interface(pools: OciInstancePools) -> None:
    assert isinstance(pools, Provider)


def test_reads_the_pool_size(
    fake_oci: FakeOciApi, pools: OciInstancePools, web_pool: PoolConfig
) -> None:
    fake_oci.add_pool(POOL_ID, size=3)

    assert pools.current_size(web_pool) == 3
    [call] = fake_oci.calls_to("get_instance_pool")
    assert call.path == f"/20160918/instancePools/{POOL_ID}"


def test_scaling_up_adds_instances_to_the_pool(
    fake_oci: FakeOciApi, pools: OciInstancePools, web_pool: PoolConfig
) -> None:
    before = fake_oci.add_pool(POOL_ID, size=2)

    pools.set_size(web_pool, 4)

    assert fake_oci.pool_size(POOL_ID) == 4
    assert pools.current_size(web_pool) == 4
    assert fake_oci.instance_ids(POOL_ID)[:2] == before
    [call] = fake_oci.calls_to("update_instance_pool")
    assert (call.method, call.body) == ("PUT", {"size": 4})


def test_scaling_down_removes_instances_from_the_pool(
    fake_oci: FakeOciApi, pools: OciInstancePools, web_pool: PoolConfig
) -> None:
    fake_oci.add_pool(POOL_ID, size=4)

    pools.set_size(web_pool, 1)

    assert fake_oci.pool_size(POOL_ID) == 1
    assert len(pools.list_instances(web_pool)) == 1


def test_lists_the_pools_instances_in_its_compartment(
    fake_oci: FakeOciApi, pools: OciInstancePools, web_pool: PoolConfig
) -> None:
    ids = fake_oci.add_pool(POOL_ID, size=2, display_name="web")

    instances = pools.list_instances(web_pool)

    assert instances == [
        Instance(
            id=ids[0], state="Running", display_name="web-1", compartment_id=DEFAULT_COMPARTMENT
        ),
        Instance(
            id=ids[1], state="Running", display_name="web-2", compartment_id=DEFAULT_COMPARTMENT
        ),
    ]
    [listing] = fake_oci.calls_to("list_instance_pool_instances")
    assert listing.query["compartmentId"] == [DEFAULT_COMPARTMENT]


def test_a_negative_size_is_refused_before_any_call(
    fake_oci: FakeOciApi, pools: OciInstancePools, web_pool: PoolConfig
) -> None:
    fake_oci.add_pool(POOL_ID, size=2)

    with pytest.raises(ValueError, match="cannot set a size below 0"):
        pools.set_size(web_pool, -1)

    assert fake_oci.calls == []
    assert fake_oci.pool_size(POOL_ID) == 2


def test_refused_credentials_are_reported_once_without_retrying(
    fake_oci: FakeOciApi, pools: OciInstancePools, web_pool: PoolConfig, sleeps: list[float]
) -> None:
    fake_oci.add_pool(POOL_ID, size=2)
    fake_oci.fail_next("get_instance_pool", 401)

    with pytest.raises(InvalidCredentials) as caught:
        pools.current_size(web_pool)

    assert str(caught.value) == oci_provider.ERR_CREDENTIALS.format(
        code="NotAuthenticated", operation="get_instance_pool", pool="web"
    )
    assert len(fake_oci.calls_to("get_instance_pool")) == 1
    assert sleeps == []


def test_an_unknown_pool_is_reported_as_an_invalid_pool(
    fake_oci: FakeOciApi, pools: OciInstancePools, web_pool: PoolConfig, sleeps: list[float]
) -> None:
    with pytest.raises(InvalidPool) as caught:
        pools.set_size(web_pool, 3)

    assert str(caught.value) == (
        f"OCI does not know instance pool {POOL_ID} in region us-ashburn-1 "
        "(404 NotAuthorizedOrNotFound from update_instance_pool): check instance_pool_id and "
        "region"
    )
    assert len(fake_oci.calls) == 1
    assert sleeps == []


def test_too_many_requests_is_retried_with_backoff_then_succeeds(
    fake_oci: FakeOciApi, pools: OciInstancePools, web_pool: PoolConfig, sleeps: list[float]
) -> None:
    fake_oci.add_pool(POOL_ID, size=2)
    fake_oci.fail_next("update_instance_pool", 429)

    pools.set_size(web_pool, 3)

    assert fake_oci.pool_size(POOL_ID) == 3
    assert [call.status for call in fake_oci.calls_to("update_instance_pool")] == [429, 200]
    assert sleeps == [1.0]


def test_a_server_error_then_success_sets_the_size(
    fake_oci: FakeOciApi, pools: OciInstancePools, web_pool: PoolConfig, sleeps: list[float]
) -> None:
    fake_oci.add_pool(POOL_ID, size=2)
    fake_oci.fail_next("update_instance_pool", 500)
    fake_oci.fail_next("update_instance_pool", 503)

    pools.set_size(web_pool, 5)

    assert fake_oci.pool_size(POOL_ID) == 5
    assert sleeps == [1.0, 2.0]


def test_an_unavailable_service_is_given_up_after_the_last_attempt(
    fake_oci: FakeOciApi, pools: OciInstancePools, web_pool: PoolConfig, sleeps: list[float]
) -> None:
    fake_oci.add_pool(POOL_ID, size=2)
    fake_oci.fail_next("update_instance_pool", 503, times=3)

    with pytest.raises(ProviderUnavailable) as caught:
        pools.set_size(web_pool, 3)

    assert str(caught.value) == oci_provider.ERR_UNAVAILABLE.format(
        operation="update_instance_pool", pool="web", status=503, attempts=3
    )
    assert [call.status for call in fake_oci.calls_to("update_instance_pool")] == [503] * 3
    assert sleeps == [1.0, 2.0]
    assert fake_oci.pool_size(POOL_ID) == 2


def test_other_refusals_are_not_retried(
    fake_oci: FakeOciApi, pools: OciInstancePools, web_pool: PoolConfig, sleeps: list[float]
) -> None:
    fake_oci.add_pool(POOL_ID, size=2)
    fake_oci.fail_next("update_instance_pool", 409)

    with pytest.raises(ProviderError) as caught:
        pools.set_size(web_pool, 3)

    assert type(caught.value) is ProviderError
    assert str(caught.value) == (
        "OCI refused update_instance_pool on pool web (409 Conflict): Scripted 409 answer."
    )
    assert sleeps == []


def test_many_failures_never_open_a_circuit_that_would_block_other_pools(
    fake_oci: FakeOciApi, pools: OciInstancePools, web_pool: PoolConfig
) -> None:
    fake_oci.add_pool(POOL_ID, size=2)
    fake_oci.fail_next("get_instance_pool", 503, times=12)

    for _ in range(4):
        with pytest.raises(ProviderUnavailable):
            pools.current_size(web_pool)

    assert pools.current_size(web_pool) == 2
    assert len(fake_oci.calls_to("get_instance_pool")) == 13


def test_an_unreachable_endpoint_is_retried_then_reported_unavailable(
    oci_config: dict[str, str], web_pool: PoolConfig, sleeps: list[float]
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    pools = OciInstancePools(
        oci_config,
        service_endpoint=f"http://127.0.0.1:{port}",
        sleep=sleeps.append,
        retry=RetryPolicy(attempts=2),
        timeout=(2.0, 2.0),
    )

    with pytest.raises(ProviderUnavailable, match="OCI kept failing get_instance_pool on pool web"):
        pools.current_size(web_pool)

    assert sleeps == [1.0]


def test_an_incomplete_configuration_is_refused_at_construction(
    oci_config: dict[str, str],
) -> None:
    del oci_config["fingerprint"]

    with pytest.raises(InvalidCredentials, match="OCI configuration is incomplete or invalid"):
        OciInstancePools(oci_config)


def test_the_stand_in_refuses_unsigned_requests(fake_oci: FakeOciApi) -> None:
    fake_oci.add_pool(POOL_ID, size=1)
    address = urlsplit(fake_oci.endpoint)
    connection = http.client.HTTPConnection(address.hostname or "", address.port, timeout=5)
    try:
        connection.request("GET", f"/20160918/instancePools/{POOL_ID}")
        response = connection.getresponse()
        status = response.status
    finally:
        connection.close()

    assert status == 401
