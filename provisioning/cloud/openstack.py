"""The OpenStack steps of a deployment, one function each, over an openstacksdk Connection.

No function here waits: a lease or a server is checked once per call (``check_lease``,
``check_server``) and the caller decides when to look again, so a Celery task can retry with a
countdown instead of holding a worker. Creating is not idempotent by nature, but every clean-up
is: deleting something already gone is success, so ``deprovision`` can run any number of times.

Blazar has no proxy in openstacksdk; ``conn.reservation`` is the SDK's generic adapter for the
``reservation`` service in the catalog, used here with plain JSON.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from openstack.connection import Connection

from openstack import exceptions as sdk_exceptions
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

logger = logging.getLogger(__name__)

IMAGE_PREFIX = "CC-"
DEFAULT_NETWORK = "sharednet1"
DEFAULT_FLOATING_IP_POOL = "public"
DEFAULT_FLAVOR = "baremetal"
LEASE_START_DELAY = dt.timedelta(minutes=2)
LEASE_POLL_SECONDS = 10
LEASE_TIMEOUT = dt.timedelta(minutes=5)
SERVER_POLL_SECONDS = 30
SERVER_TIMEOUT = dt.timedelta(minutes=30)
BLAZAR_TIME_FORMAT = "%Y-%m-%d %H:%M"
NO_FLOATING_IP_WARNING = (
    "No floating IP is available ({detail}); the server is reachable only on its private "
    "address {fixed_ip}. Release unused floating IPs in the project, or use the internal network."
)


class LeaseStatus(StrEnum):
    """Blazar's lease states (the seed's lease state machine)."""

    CREATING = "CREATING"
    PENDING = "PENDING"
    STARTING = "STARTING"
    ACTIVE = "ACTIVE"
    TERMINATING = "TERMINATING"
    TERMINATED = "TERMINATED"
    ERROR = "ERROR"


class ServerStatus(StrEnum):
    """Nova's server states that a deployment meets (the seed's server state machine)."""

    BUILD = "BUILD"
    ACTIVE = "ACTIVE"
    SHUTOFF = "SHUTOFF"
    DELETED = "DELETED"
    ERROR = "ERROR"


@dataclass(frozen=True)
class CloudImage:
    name: str
    id: str
    size: int | None = None
    min_disk: int | None = None
    min_ram: int | None = None
    created_at: str | None = None


@dataclass(frozen=True)
class KeypairResult:
    name: str
    created: bool
    private_key_path: Path | None = None


@dataclass(frozen=True)
class LeaseInfo:
    id: str
    name: str
    status: str
    reservation_id: str | None
    start_date: str
    end_date: str

    @property
    def is_active(self) -> bool:
        return self.status == LeaseStatus.ACTIVE


@dataclass(frozen=True)
class ServerInfo:
    id: str
    name: str
    status: str
    fault: str | None = None
    fixed_ip: str | None = None
    floating_ip: str | None = None

    @property
    def is_active(self) -> bool:
        return self.status == ServerStatus.ACTIVE


@dataclass(frozen=True)
class FloatingIpResult:
    """A floating IP on the server, or a warning why there is none (never an exception)."""

    address: str | None
    floating_ip_id: str | None = None
    reused: bool = False
    warning: str | None = None


# --- images, keys, networks ------------------------------------------------------------------


def list_images(conn: Connection) -> list[CloudImage]:
    """The cloud's own CC-* images that can boot now; users' snapshots are left out."""
    images = [
        CloudImage(
            name=image.name,
            id=image.id,
            size=image.size,
            min_disk=image.min_disk,
            min_ram=image.min_ram,
            created_at=image.created_at,
        )
        for image in conn.image.images()
        if (image.name or "").startswith(IMAGE_PREFIX) and image.status == "active"
    ]
    return sorted(images, key=lambda image: image.name)


def ensure_keypair(
    conn: Connection,
    *,
    name: str,
    private_key_path: Path | None = None,
    public_key_path: Path | None = None,
) -> KeypairResult:
    """Reuse the key pair ``name``, or import a public key, or make a new key pair.

    A new key pair is generated here and its public half imported, rather than asking Nova to
    generate one: Nova stopped generating keys at API microversion 2.92, and this way the private
    key never crosses the network. It is written with mode 600 and never overwrites a file.
    """
    if _found(conn.compute.find_keypair, name):
        return KeypairResult(name=name, created=False)
    if public_key_path is not None:
        try:
            public_key = public_key_path.read_text().strip()
        except OSError as error:
            raise KeypairFailed(
                name=name,
                detail=f"cannot read {public_key_path} ({error.strerror})",
                action="Check the public key path.",
            ) from None
        _import_keypair(conn, name, public_key)
        return KeypairResult(name=name, created=True)
    if private_key_path is None:
        raise KeypairFailed(
            name=name,
            detail="it does not exist and no key file was given",
            action="Give a public key to import, or a path to save a new private key.",
        )
    private_pem, public_key = _new_ed25519_key()
    _write_private_key(private_key_path, private_pem, name)
    try:
        _import_keypair(conn, name, public_key)
    except KeypairFailed:
        private_key_path.unlink(missing_ok=True)
        raise
    return KeypairResult(name=name, created=True, private_key_path=private_key_path)


def _new_ed25519_key() -> tuple[bytes, str]:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519

    key = ed25519.Ed25519PrivateKey.generate()
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.OpenSSH,
        serialization.NoEncryption(),
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
    )
    return private, public.decode() + " dagyard"


def _write_private_key(path: Path, data: bytes, name: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        # Created with 600 from the start: the key is never readable by others, not even briefly.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise KeypairFailed(
            name=name,
            detail=f"{path} already exists",
            action="Import its public key instead, or choose another path for the new key.",
        ) from None
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    path.chmod(0o600)


def _import_keypair(conn: Connection, name: str, public_key: str) -> None:
    try:
        conn.compute.create_keypair(name=name, public_key=public_key)
    except sdk_exceptions.HttpException as error:
        raise KeypairFailed(
            name=name,
            detail=_cloud_detail(error),
            action="Check the public key's format and the project's key pair quota.",
        ) from None


def find_network_id(conn: Connection, name: str = DEFAULT_NETWORK) -> str:
    network = _found(conn.network.find_network, name)
    if network is None:
        raise NetworkNotFound(name=name)
    return str(network.id)


# --- leases ----------------------------------------------------------------------------------


def lease_request(
    *, name: str, node_type: str, duration_hours: int, now: dt.datetime
) -> dict[str, Any]:
    """The Blazar request for one bare-metal host of ``node_type``, starting in two minutes."""
    start = now.astimezone(dt.UTC) + LEASE_START_DELAY
    end = start + dt.timedelta(hours=duration_hours)
    return {
        "name": name,
        "start_date": start.strftime(BLAZAR_TIME_FORMAT),
        "end_date": end.strftime(BLAZAR_TIME_FORMAT),
        "reservations": [
            {
                "resource_type": "physical:host",
                "min": 1,
                "max": 1,
                "hypervisor_properties": "",
                "resource_properties": json.dumps(["==", "$node_type", node_type]),
            }
        ],
        "events": [],
    }


def create_lease(
    conn: Connection,
    *,
    name: str,
    node_type: str,
    duration_hours: int,
    now: dt.datetime | None = None,
) -> LeaseInfo:
    """Submit the lease; no free node of the type is ``NoResourcesAvailable``."""
    body = lease_request(
        name=name,
        node_type=node_type,
        duration_hours=duration_hours,
        now=now or dt.datetime.now(dt.UTC),
    )
    response = conn.reservation.post("/leases", json=body, raise_exc=False)
    if response.status_code >= 400:
        detail = _blazar_detail(response)
        if _means_no_hosts(response.status_code, detail):
            raise NoResourcesAvailable(
                node_type=node_type, start=body["start_date"], end=body["end_date"], detail=detail
            )
        raise _lease_refusal(response, lease=name, action="created", detail=detail)
    return _lease_info(response.json()["lease"])


def get_lease(conn: Connection, lease_id: str) -> LeaseInfo | None:
    """The lease as Blazar sees it now, or None if it no longer exists."""
    response = conn.reservation.get(f"/leases/{lease_id}", raise_exc=False)
    if response.status_code == 404:
        return None
    if response.status_code >= 400:
        raise _lease_refusal(response, lease=lease_id, action="read")
    return _lease_info(response.json()["lease"])


def check_lease(
    conn: Connection,
    lease_id: str,
    *,
    waited: dt.timedelta,
    timeout: dt.timedelta = LEASE_TIMEOUT,
) -> LeaseInfo:
    """One look at the lease: ACTIVE or still pending is returned; ERROR or too long raises."""
    lease = get_lease(conn, lease_id)
    if lease is None:
        raise LeaseFailed(lease=lease_id, detail="it no longer exists")
    if lease.status == LeaseStatus.ERROR:
        raise LeaseFailed(lease=lease_id, detail="Blazar reports status ERROR")
    if lease.status in (LeaseStatus.TERMINATING, LeaseStatus.TERMINATED):
        raise LeaseFailed(lease=lease_id, detail=f"it is already {lease.status}")
    if not lease.is_active and waited >= timeout:
        raise LeaseTimeout(lease=lease_id, status=lease.status, minutes=_minutes(timeout))
    return lease


def find_lease(conn: Connection, name: str) -> LeaseInfo | None:
    """The lease called ``name``, if one exists: a step interrupted after creating it adopts it
    instead of reserving a second node."""
    response = conn.reservation.get("/leases", raise_exc=False)
    if response.status_code >= 400:
        raise _lease_refusal(response, lease=name, action="listed")
    for data in response.json().get("leases", []):
        if data.get("name") == name:
            return _lease_info(data)
    return None


def delete_lease(conn: Connection, lease_id: str) -> bool:
    """Delete the lease; True if it existed. A missing lease is already what we want."""
    response = conn.reservation.delete(f"/leases/{lease_id}", raise_exc=False)
    if response.status_code == 404:
        return False
    if response.status_code >= 400:
        raise _lease_refusal(response, lease=lease_id, action="deleted")
    return True


def _lease_info(data: dict[str, Any]) -> LeaseInfo:
    reservations = data.get("reservations") or []
    return LeaseInfo(
        id=data["id"],
        name=data.get("name", ""),
        status=str(data.get("status", "")).upper(),
        reservation_id=reservations[0]["id"] if reservations else None,
        start_date=data.get("start_date", ""),
        end_date=data.get("end_date", ""),
    )


def _lease_refusal(
    response: Any, *, lease: str, action: str, detail: str | None = None
) -> Exception:
    """What a Blazar error answer means: a 5xx is an outage, worth another try like any other
    service's (``sdk_exceptions.HttpException``); anything else is the lease's own failure."""
    detail = detail if detail is not None else _blazar_detail(response)
    if response.status_code >= 500:
        return sdk_exceptions.HttpException(
            message=f"Blazar answered {response.status_code} ({detail})",
            http_status=response.status_code,
        )
    return LeaseFailed(lease=lease, detail=detail, action=action)


def _blazar_detail(response: Any) -> str:
    try:
        data = response.json()
    except ValueError:
        return f"HTTP {response.status_code}"
    message = data.get("error_message") if isinstance(data, dict) else None
    return str(message or f"HTTP {response.status_code}")


def _means_no_hosts(status: int, detail: str) -> bool:
    lowered = detail.lower()
    return status == 409 or "not enough hosts" in lowered or "not enough resources" in lowered


# --- servers ---------------------------------------------------------------------------------


def create_server(
    conn: Connection,
    *,
    name: str,
    image_id: str,
    network_id: str,
    key_name: str,
    reservation_id: str,
    flavor: str = DEFAULT_FLAVOR,
) -> ServerInfo:
    """Ask Nova for the server on the reserved host (the reservation is a scheduler hint)."""
    found = _found(conn.compute.find_flavor, flavor)
    if found is None:
        raise FlavorNotFound(name=flavor)
    try:
        server = conn.compute.create_server(
            name=name,
            image_id=image_id,
            flavor_id=found.id,
            networks=[{"uuid": network_id}],
            key_name=key_name,
            scheduler_hints={"reservation": reservation_id},
        )
    except sdk_exceptions.HttpException as error:
        raise ServerFailed(server=name, fault=_cloud_detail(error)) from None
    return ServerInfo(id=server.id, name=name, status=str(server.status or ServerStatus.BUILD))


def get_server(conn: Connection, server_id: str) -> ServerInfo | None:
    try:
        server = conn.compute.get_server(server_id)
    except sdk_exceptions.NotFoundException:
        return None
    fixed, floating = _addresses(server.addresses or {})
    fault = server.fault or {}
    return ServerInfo(
        id=server.id,
        name=server.name,
        status=str(server.status),
        fault=fault.get("message") if isinstance(fault, dict) else str(fault),
        fixed_ip=fixed,
        floating_ip=floating,
    )


def find_server(conn: Connection, name: str) -> ServerInfo | None:
    """The server called ``name``, if one exists (adopted by a step that was interrupted)."""
    for server in conn.compute.servers(name=f"^{name}$"):
        if server.name == name:
            return get_server(conn, server.id)
    return None


def check_server(
    conn: Connection,
    server_id: str,
    *,
    waited: dt.timedelta,
    timeout: dt.timedelta = SERVER_TIMEOUT,
) -> ServerInfo:
    """One look at the server: ACTIVE or still building is returned; ERROR or too long raises."""
    server = get_server(conn, server_id)
    if server is None:
        raise ServerFailed(server=server_id, fault="it no longer exists")
    if server.status == ServerStatus.ERROR:
        raise ServerFailed(server=server_id, fault=server.fault or "no fault was reported")
    if not server.is_active and waited >= timeout:
        raise ServerTimeout(server=server_id, status=server.status, minutes=_minutes(timeout))
    return server


def _minutes(timeout: dt.timedelta) -> int | float:
    minutes = timeout.total_seconds() / 60
    return int(minutes) if minutes.is_integer() else round(minutes, 2)


def delete_server(conn: Connection, server_id: str) -> bool:
    """Delete the server; True if it existed."""
    try:
        conn.compute.delete_server(server_id, ignore_missing=False)
    except sdk_exceptions.NotFoundException:
        return False
    return True


def _addresses(addresses: dict[str, Iterable[dict[str, Any]]]) -> tuple[str | None, str | None]:
    fixed = floating = None
    for entries in addresses.values():
        for entry in entries:
            kind = entry.get("OS-EXT-IPS:type")
            if kind == "floating":
                floating = floating or entry.get("addr")
            else:
                fixed = fixed or entry.get("addr")
    return fixed, floating


# --- floating IPs ----------------------------------------------------------------------------


def attach_floating_ip(
    conn: Connection, server_id: str, *, pool: str = DEFAULT_FLOATING_IP_POOL
) -> FloatingIpResult:
    """Give the server a public address: its own if it has one, a free one, or a new one.

    Running out of addresses is not a failure (the seed continues with a warning): the server
    works on its private address, so the result carries the warning instead of an exception.
    """
    ports = list(conn.network.ports(device_id=server_id))
    if not ports:
        return FloatingIpResult(address=None, warning=_no_ip("the server has no port", None))
    port_ids = {port.id for port in ports}
    fixed_ip = (ports[0].fixed_ips or [{}])[0].get("ip_address")
    ips = list(conn.network.ips())
    for ip in ips:
        if ip.port_id in port_ids:
            return FloatingIpResult(
                address=ip.floating_ip_address, floating_ip_id=ip.id, reused=True
            )
    free = next((ip for ip in ips if not ip.port_id), None)
    reused = free is not None
    if free is None:
        network = _found(conn.network.find_network, pool)
        if network is None:
            return FloatingIpResult(address=None, warning=_no_ip(f"no network {pool!r}", fixed_ip))
        try:
            free = conn.network.create_ip(floating_network_id=network.id)
        except sdk_exceptions.HttpException as error:
            return FloatingIpResult(address=None, warning=_no_ip(_cloud_detail(error), fixed_ip))
    conn.network.update_ip(free, port_id=ports[0].id)
    logger.info("Floating IP %s attached to server %s", free.floating_ip_address, server_id)
    return FloatingIpResult(address=free.floating_ip_address, floating_ip_id=free.id, reused=reused)


def release_floating_ip(conn: Connection, floating_ip: str) -> bool:
    """Give the address (id or dotted address) back to the pool; True if it existed."""
    ip = next(iter(conn.network.ips(floating_ip_address=floating_ip)), None)
    if ip is None:
        ip = _found(conn.network.find_ip, floating_ip)
    if ip is None:
        return False
    try:
        conn.network.delete_ip(ip, ignore_missing=False)
    except sdk_exceptions.NotFoundException:
        return False
    return True


def _found(finder: Callable[..., Any], name_or_id: str) -> Any:
    """The resource, or None; missing is an answer, not an error, for these look-ups.

    openstacksdk deprecates ``ignore_missing=True`` on finders, so the not-found is caught here.
    """
    try:
        return finder(name_or_id, ignore_missing=False)
    except sdk_exceptions.NotFoundException:
        return None


def _no_ip(detail: str, fixed_ip: str | None) -> str:
    return NO_FLOATING_IP_WARNING.format(detail=detail, fixed_ip=fixed_ip or "(none)")


def _cloud_detail(error: sdk_exceptions.HttpException) -> str:
    """The cloud's own explanation, without the request URL or anything sent with it."""
    details = getattr(error, "details", None)
    if details:
        return str(details)
    return f"HTTP {error.status_code}" if error.status_code else type(error).__name__
