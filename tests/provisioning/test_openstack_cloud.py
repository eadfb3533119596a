"""The real openstacksdk against the loopback stand-in: every step, every failure, every delete."""

from __future__ import annotations

import datetime as dt
import json
import stat
from collections.abc import Iterator

import keystoneauth1.exceptions.http
import pytest

from provisioning.cloud.errors import (
    FlavorNotFound,
    KeypairFailed,
    LeaseFailed,
    LeaseTimeout,
    NetworkNotFound,
    NoResourcesAvailable,
    ServerFailed,
    ServerTimeout,
)
from provisioning.cloud.openstack import (
    LEASE_TIMEOUT,
    SERVER_TIMEOUT,
    attach_floating_ip,
    check_lease,
    check_server,
    create_lease,
    create_server,
    delete_lease,
    delete_server,
    ensure_keypair,
    find_network_id,
    get_lease,
    get_server,
    lease_request,
    list_images,
    release_floating_ip,
)
from tests.fakes.openstack_api import FakeOpenStack, LeaseOutcome, ServerOutcome

NOW = dt.datetime(2025, 12, 4, 10, 30, tzinfo=dt.UTC)
JUST_STARTED = dt.timedelta(seconds=0)


@pytest.fixture
def cloud() -> Iterator[FakeOpenStack]:
    with FakeOpenStack() as fake:
        yield fake


@pytest.fixture
def conn(cloud):
    connection = cloud.connect()
    yield connection
    connection.close()


def active_lease(conn, cloud, node_type="compute_haswell"):
    lease = create_lease(conn, name="dagyard-demo", node_type=node_type, duration_hours=24, now=NOW)
    for _ in range(cloud.lease_gets_until_active):
        lease = check_lease(conn, lease.id, waited=JUST_STARTED)
    assert lease.is_active
    return lease


def launched_server(conn, cloud):
    lease = active_lease(conn, cloud)
    image = list_images(conn)[0]
    return create_server(
        conn,
        name="dagyard-demo",
        image_id=image.id,
        network_id=find_network_id(conn),
        key_name="demo-key",
        reservation_id=lease.reservation_id,
    )


def test_only_the_clouds_cc_images_are_listed(conn):
    names = [image.name for image in list_images(conn)]
    assert names == [
        "CC-CentOS8",
        "CC-Ubuntu20.04",
        "CC-Ubuntu20.04-CUDA",
        "CC-Ubuntu22.04",
        "CC-Ubuntu22.04-CUDA",
    ]
    assert list_images(conn)[0].created_at == "2022-01-01T00:00:00Z"


def test_an_existing_keypair_is_reused(cloud, conn, tmp_path):
    cloud.add_keypair("demo-key")
    result = ensure_keypair(conn, name="demo-key", private_key_path=tmp_path / "demo-key")
    assert (result.created, result.private_key_path) == (False, None)
    assert not (tmp_path / "demo-key").exists()
    assert cloud.requests_to("POST", r"/compute/v2\.1/os-keypairs") == []


def test_a_new_keypair_saves_its_private_key_with_mode_600(cloud, conn, tmp_path):
    path = tmp_path / "keys" / "demo-key"
    result = ensure_keypair(conn, name="demo-key", private_key_path=path)
    assert result.created
    assert result.private_key_path == path
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_text().startswith("-----BEGIN OPENSSH PRIVATE KEY-----")
    assert cloud.keypairs["demo-key"]["public_key"].startswith("ssh-ed25519 ")


def test_a_public_key_file_is_imported(cloud, conn, tmp_path):
    public = tmp_path / "id.pub"
    public.write_text("ssh-ed25519 AAAAC3Nza-mine user@laptop\n")
    result = ensure_keypair(conn, name="mine", public_key_path=public)
    assert result.created
    assert cloud.keypairs["mine"]["public_key"] == "ssh-ed25519 AAAAC3Nza-mine user@laptop"


def test_an_existing_private_key_file_is_never_overwritten(conn, tmp_path):
    path = tmp_path / "demo-key"
    path.write_text("precious")
    with pytest.raises(KeypairFailed, match="already exists"):
        ensure_keypair(conn, name="demo-key", private_key_path=path)
    assert path.read_text() == "precious"


def test_a_missing_keypair_without_key_files_is_a_clear_error(conn):
    with pytest.raises(KeypairFailed, match="no key file was given"):
        ensure_keypair(conn, name="demo-key")


def test_the_network_is_found_by_name(cloud, conn):
    assert find_network_id(conn) == next(
        n["id"] for n in cloud.networks.values() if n["name"] == "sharednet1"
    )
    with pytest.raises(NetworkNotFound, match="no network named 'nope'"):
        find_network_id(conn, "nope")


def test_the_lease_request_reserves_one_host_of_the_node_type_from_two_minutes_on():
    body = lease_request(name="l", node_type="gpu_rtx_5000", duration_hours=24, now=NOW)
    assert (body["start_date"], body["end_date"]) == ("2025-12-04 10:32", "2025-12-05 10:32")
    reservation = body["reservations"][0]
    assert (reservation["resource_type"], reservation["min"], reservation["max"]) == (
        "physical:host",
        1,
        1,
    )
    assert json.loads(reservation["resource_properties"]) == ["==", "$node_type", "gpu_rtx_5000"]


def test_a_lease_goes_from_pending_to_active_and_names_its_reservation(cloud, conn):
    lease = create_lease(conn, name="demo", node_type="gpu_rtx_5000", duration_hours=24, now=NOW)
    assert lease.status == "PENDING"
    assert check_lease(conn, lease.id, waited=JUST_STARTED).status == "PENDING"
    active = check_lease(conn, lease.id, waited=dt.timedelta(seconds=20))
    assert active.is_active
    assert active.reservation_id == cloud.leases[lease.id]["reservations"][0]["id"]
    sent = cloud.requests_to("POST", "/reservation/v1/leases")[0].body
    assert sent["reservations"][0]["resource_properties"] == '["==", "$node_type", "gpu_rtx_5000"]'


def test_no_free_nodes_is_no_resources_available_with_advice(cloud, conn):
    cloud.lease_outcome = LeaseOutcome.NO_RESOURCES
    with pytest.raises(NoResourcesAvailable) as caught:
        create_lease(conn, name="demo", node_type="gpu_a100", duration_hours=24, now=NOW)
    assert str(caught.value) == (
        "No gpu_a100 nodes are free from 2025-12-04 10:32 to 2025-12-05 10:32 UTC "
        "(Not enough hosts available). Try a different node type, a shorter lease or a later time."
    )
    assert cloud.leases == {}


def test_a_lease_in_error_fails(cloud, conn):
    cloud.lease_outcome = LeaseOutcome.ERROR
    lease = create_lease(conn, name="demo", node_type="compute_haswell", duration_hours=1, now=NOW)
    with pytest.raises(LeaseFailed, match="Blazar reports status ERROR.*Retry in a few minutes"):
        check_lease(conn, lease.id, waited=JUST_STARTED)


def test_a_lease_still_pending_after_five_minutes_times_out(cloud, conn):
    cloud.lease_outcome = LeaseOutcome.STAYS_PENDING
    lease = create_lease(conn, name="demo", node_type="compute_haswell", duration_hours=1, now=NOW)
    assert check_lease(conn, lease.id, waited=LEASE_TIMEOUT / 2).status == "PENDING"
    with pytest.raises(LeaseTimeout, match="still PENDING after 5 minutes"):
        check_lease(conn, lease.id, waited=LEASE_TIMEOUT)


def test_a_server_goes_from_build_to_active_on_the_reserved_host(cloud, conn):
    server = launched_server(conn, cloud)
    assert server.status == "BUILD"
    assert check_server(conn, server.id, waited=JUST_STARTED).status == "BUILD"
    active = check_server(conn, server.id, waited=dt.timedelta(seconds=30))
    assert active.is_active
    assert active.fixed_ip.startswith("10.140.0.")
    stored = cloud.servers[server.id]
    lease = next(iter(cloud.leases.values()))
    assert stored["scheduler_hints"] == {"reservation": lease["reservations"][0]["id"]}
    assert stored["key_name"] == "demo-key"
    assert stored["flavor"] == {"original_name": "baremetal"}


def test_a_server_in_error_fails_with_its_fault(cloud, conn):
    cloud.server_outcome = ServerOutcome.ERROR
    cloud.server_fault = "No valid host was found."
    server = launched_server(conn, cloud)
    with pytest.raises(ServerFailed) as caught:
        check_server(conn, server.id, waited=JUST_STARTED)
    assert caught.value.fault == "No valid host was found."
    assert str(caught.value).endswith(
        "failed to start: No valid host was found. Check your project's quota, or retry with a "
        "different node type or image."
    )


def test_a_server_still_building_after_thirty_minutes_times_out(cloud, conn):
    cloud.server_outcome = ServerOutcome.STAYS_BUILD
    server = launched_server(conn, cloud)
    assert check_server(conn, server.id, waited=SERVER_TIMEOUT / 2).status == "BUILD"
    with pytest.raises(ServerTimeout, match="still BUILD after 30 minutes. Check its console log"):
        check_server(conn, server.id, waited=SERVER_TIMEOUT)


def test_an_unknown_flavor_is_refused_before_anything_is_created(cloud, conn):
    with pytest.raises(FlavorNotFound):
        create_server(
            conn,
            name="x",
            image_id="i",
            network_id="n",
            key_name="k",
            reservation_id="r",
            flavor="nope",
        )
    assert cloud.servers == {}


def test_an_unattached_floating_ip_is_reused(cloud, conn):
    server = launched_server(conn, cloud)
    cloud.add_floating_ip("192.5.87.200", port_id="someone-elses-port")
    spare = cloud.add_floating_ip("192.5.87.201")
    result = attach_floating_ip(conn, server.id)
    assert (result.address, result.floating_ip_id, result.reused) == ("192.5.87.201", spare, True)
    assert get_server(conn, server.id).floating_ip == "192.5.87.201"
    assert cloud.requests_to("POST", r"/network/v2\.0/floatingips") == []


def test_a_floating_ip_is_created_from_public_when_none_is_free(cloud, conn):
    server = launched_server(conn, cloud)
    result = attach_floating_ip(conn, server.id)
    assert result.address.startswith("192.5.87.")
    assert not result.reused
    assert result.warning is None
    created = cloud.floating_ips[result.floating_ip_id]
    assert created["floating_network_id"] == next(
        n["id"] for n in cloud.networks.values() if n["name"] == "public"
    )
    assert attach_floating_ip(conn, server.id).address == result.address


def test_no_floating_ip_left_is_a_warning_not_an_error(cloud, conn):
    cloud.floating_ip_capacity = 0
    server = launched_server(conn, cloud)
    result = attach_floating_ip(conn, server.id)
    assert result.address is None
    assert result.warning.startswith("No floating IP is available (No more IP addresses")
    assert "reachable only on its private address 10.140.0." in result.warning


def test_deletes_are_idempotent(cloud, conn):
    server = launched_server(conn, cloud)
    address = attach_floating_ip(conn, server.id).address
    lease_id = next(iter(cloud.leases))
    assert delete_server(conn, server.id) is True
    assert release_floating_ip(conn, address) is True
    assert delete_lease(conn, lease_id) is True
    assert (cloud.servers, cloud.floating_ips, cloud.leases) == ({}, {}, {})
    assert delete_server(conn, server.id) is False
    assert release_floating_ip(conn, address) is False
    assert delete_lease(conn, lease_id) is False
    assert get_server(conn, server.id) is None
    assert get_lease(conn, lease_id) is None


def test_the_stand_in_can_activate_a_lease_by_time_instead_of_by_reads(cloud, conn):
    cloud.lease_gets_until_active = 1_000
    cloud.lease_active_after = dt.timedelta(0)
    lease = create_lease(conn, name="demo", node_type="compute_haswell", duration_hours=1, now=NOW)
    assert check_lease(conn, lease.id, waited=JUST_STARTED).is_active


def test_an_application_credential_connects_too(cloud):
    connection = cloud.connect_with_application_credential()
    assert "CC-Ubuntu22.04" in [image.name for image in list_images(connection)]
    connection.close()


def test_a_wrong_password_is_refused_with_keystones_unauthorized(cloud):
    # Authentication errors come from keystoneauth, not as openstacksdk exceptions.
    connection = cloud.connect(password="wrong")
    with pytest.raises(keystoneauth1.exceptions.http.Unauthorized):
        list_images(connection)
