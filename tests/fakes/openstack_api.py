"""A loopback stand-in for the OpenStack services a deployment uses.

One standard-library HTTP server on 127.0.0.1 and a free port answers Keystone
(``/v3/auth/tokens``), Nova (``/compute/v2.1``), Glance (``/image/v2``), Neutron
(``/network/v2.0``) and Blazar (``/reservation/v1``). The real openstacksdk connects to it with a
password and a token whose catalog points back at the same port, so tests cover the SDK's own
discovery, microversion, pagination and error handling.

Leases go PENDING -> ACTIVE and servers BUILD -> ACTIVE after a number of GETs; a test changes that
number, or makes each step fail the way the seed's error table says:

    with FakeOpenStack() as cloud:
        cloud.lease_outcome = LeaseOutcome.NO_RESOURCES     # or ERROR, STAYS_PENDING
        cloud.server_outcome = ServerOutcome.ERROR          # or STAYS_BUILD
        cloud.server_fault = "No valid host was found."
        cloud.floating_ip_capacity = 0                      # the public pool is exhausted
        cloud.longest_free_lease_hours = 6                  # longer leases find no free node
        cloud.make_unavailable("GET", "/image/v2/images")   # one 503, then answers again
        cloud.lease_active_after = dt.timedelta(seconds=1)  # or by time rather than by GETs
        conn = cloud.connect()
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import re
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import openstack.connection

USERNAME = "dagyard"
PASSWORD = "fake-cloud-password"
PROJECT = "dagyard-project"
REGION = "CHI@TEST"
TOKEN = "fake-token-0123456789"
APP_CREDENTIAL_ID = "fake-app-credential-id"
APP_CREDENTIAL_SECRET = "fake-app-credential-secret"
NOVA_MAX_VERSION = "2.96"

DEFAULT_IMAGES = (
    ("CC-Ubuntu22.04", "2024-05-01T00:00:00Z"),
    ("CC-Ubuntu22.04-CUDA", "2024-06-01T00:00:00Z"),
    ("CC-Ubuntu20.04", "2024-01-01T00:00:00Z"),
    ("CC-Ubuntu20.04-CUDA", "2024-02-01T00:00:00Z"),
    ("CC-CentOS8", "2022-01-01T00:00:00Z"),
    ("ubuntu-22.04-upstream", "2024-07-01T00:00:00Z"),
    ("my-snapshot", "2024-08-01T00:00:00Z"),
)


class LeaseOutcome(Enum):
    ACTIVATES = "activates"
    NO_RESOURCES = "no_resources"
    ERROR = "error"
    STAYS_PENDING = "stays_pending"


class ServerOutcome(Enum):
    ACTIVATES = "activates"
    ERROR = "error"
    STAYS_BUILD = "stays_build"


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    body: Any
    headers: dict[str, str] = field(repr=False, default_factory=dict)


class FakeError(Exception):
    def __init__(self, status: int, body: Any) -> None:
        super().__init__(status)
        self.status = status
        self.body = body


def _now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _nova_not_found(what: str) -> FakeError:
    return FakeError(404, {"itemNotFound": {"code": 404, "message": f"{what} could not be found."}})


def _neutron_error(status: int, kind: str, message: str) -> FakeError:
    return FakeError(status, {"NeutronError": {"type": kind, "message": message, "detail": ""}})


def _blazar_error(status: int, name: str, message: str) -> FakeError:
    return FakeError(status, {"error_code": status, "error_name": name, "error_message": message})


Route = tuple[str, re.Pattern[str], Callable[..., Any]]


class FakeOpenStack:
    """Keystone, Nova, Glance, Neutron and Blazar in memory, behind one loopback port."""

    def __init__(self, *, lease_gets_until_active: int = 2, server_gets_until_active: int = 2):
        self._lock = threading.RLock()
        self._initial_state(lease_gets_until_active, server_gets_until_active)
        self._routes = self._route_table()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def _initial_state(self, lease_gets_until_active: int, server_gets_until_active: int) -> None:
        self.lease_outcome = LeaseOutcome.ACTIVATES
        self.server_outcome = ServerOutcome.ACTIVATES
        self.lease_gets_until_active = lease_gets_until_active
        self.server_gets_until_active = server_gets_until_active
        self.server_fault = "No valid host was found. There are not enough hosts available."
        # When set, leases and servers also become ACTIVE once this much time has passed since
        # they were created (whichever comes first: this or the number of GETs).
        self.lease_active_after: dt.timedelta | None = None
        self.server_active_after: dt.timedelta | None = None
        self._born: dict[str, float] = {}
        self.floating_ip_capacity = 10
        # When set, Blazar has no free node for a longer lease (a busy calendar).
        self.longest_free_lease_hours: float | None = None
        self.outages: list[list[Any]] = []
        self.requests: list[Request] = []
        self.images: dict[str, dict[str, Any]] = {}
        self.keypairs: dict[str, dict[str, Any]] = {}
        self.networks: dict[str, dict[str, Any]] = {}
        self.ports: dict[str, dict[str, Any]] = {}
        self.floating_ips: dict[str, dict[str, Any]] = {}
        self.servers: dict[str, dict[str, Any]] = {}
        self.leases: dict[str, dict[str, Any]] = {}
        self.flavors = {"baremetal": {"id": "baremetal", "name": "baremetal"}}
        self._gets: dict[str, int] = {}
        self._addresses = itertools.count(10)
        for name, created in DEFAULT_IMAGES:
            self.add_image(name, created_at=created)
        self.add_network("sharednet1")
        self.add_network("public", external=True)

    def reset(self) -> None:
        """Back to a fresh cloud, on the same port: for a stand-in shared by several tests."""
        with self._lock:
            self._initial_state(2, 2)

    # --- lifecycle and connection ------------------------------------------------------------

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def auth_url(self) -> str:
        return f"{self.base_url}/v3"

    def connect(self, **overrides: Any) -> openstack.connection.Connection:
        """A real SDK connection to this stand-in.

        openstacksdk 4.22 already skips clouds.yaml and OS_* variables when no cloud name is
        given, and refuses ``load_yaml_config``/``load_envvars`` alongside auth options (it passes
        them twice), so they are left out here.
        """
        options: dict[str, Any] = {
            "auth_url": self.auth_url,
            "auth_type": "v3password",
            "username": USERNAME,
            "password": PASSWORD,
            "project_name": PROJECT,
            "user_domain_name": "Default",
            "project_domain_name": "Default",
            "region_name": REGION,
        }
        options.update(overrides)
        return openstack.connection.Connection(**options)

    def connect_with_application_credential(self) -> openstack.connection.Connection:
        """A connection the way Chameleon users usually authenticate."""
        return openstack.connection.Connection(
            auth_url=self.auth_url,
            auth_type="v3applicationcredential",
            application_credential_id=APP_CREDENTIAL_ID,
            application_credential_secret=APP_CREDENTIAL_SECRET,
            region_name=REGION,
        )

    def start(self) -> FakeOpenStack:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> FakeOpenStack:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # --- seeding and scripting ---------------------------------------------------------------

    def add_image(
        self,
        name: str,
        *,
        created_at: str = "2024-01-01T00:00:00Z",
        min_disk: int = 0,
        min_ram: int = 0,
        size: int = 3_000_000_000,
    ) -> str:
        image_id = str(uuid.uuid4())
        self.images[image_id] = {
            "id": image_id,
            "name": name,
            "status": "active",
            "visibility": "public",
            "created_at": created_at,
            "updated_at": created_at,
            "min_disk": min_disk,
            "min_ram": min_ram,
            "size": size,
            "disk_format": "qcow2",
            "container_format": "bare",
            "tags": [],
        }
        return image_id

    def add_keypair(self, name: str, public_key: str = "ssh-ed25519 AAAAexisting") -> None:
        self.keypairs[name] = self._keypair(name, public_key)

    def add_network(self, name: str, *, external: bool = False) -> str:
        network_id = str(uuid.uuid4())
        self.networks[network_id] = {
            "id": network_id,
            "name": name,
            "status": "ACTIVE",
            "admin_state_up": True,
            "shared": True,
            "router:external": external,
            "subnets": [],
            "project_id": "project-id",
        }
        return network_id

    def add_floating_ip(self, address: str, *, port_id: str | None = None) -> str:
        public = self._network_named("public")
        ip_id = str(uuid.uuid4())
        self.floating_ips[ip_id] = self._floating_ip(ip_id, address, public, port_id)
        return ip_id

    def make_unavailable(
        self, method: str, path_pattern: str, *, times: int = 1, status: int = 503
    ) -> None:
        """The next ``times`` matching requests fail with ``status``, as from a service
        restarting (the SDK itself retries a 503 a few times; a 502 or 500 it does not)."""
        with self._lock:
            self.outages.append([method, re.compile(path_pattern), times, status])

    def requests_to(self, method: str, path_pattern: str) -> list[Request]:
        return [
            r for r in self.requests if r.method == method and re.fullmatch(path_pattern, r.path)
        ]

    def set_lease_status(self, lease_id: str, status: str) -> None:
        with self._lock:
            self.leases[lease_id]["status"] = status

    # --- helpers -----------------------------------------------------------------------------

    def _network_named(self, name: str) -> str:
        return next(n["id"] for n in self.networks.values() if n["name"] == name)

    @staticmethod
    def _keypair(name: str, public_key: str) -> dict[str, Any]:
        return {
            "name": name,
            "public_key": public_key,
            "fingerprint": "aa:bb:cc:dd",
            "type": "ssh",
            "user_id": "user-id",
        }

    @staticmethod
    def _floating_ip(ip_id: str, address: str, network: str, port: str | None) -> dict[str, Any]:
        return {
            "id": ip_id,
            "floating_ip_address": address,
            "floating_network_id": network,
            "port_id": port,
            "fixed_ip_address": None,
            "status": "ACTIVE" if port else "DOWN",
            "router_id": None,
            "project_id": "project-id",
            "description": "",
            "tags": [],
        }

    def _count_get(self, key: str) -> int:
        self._gets[key] = self._gets.get(key, 0) + 1
        return self._gets[key]

    def _ready(self, key: str, gets: int, needed_gets: int, after: dt.timedelta | None) -> bool:
        if gets >= needed_gets:
            return True
        age = time.monotonic() - self._born.get(key, time.monotonic())
        return after is not None and age >= after.total_seconds()

    # --- Keystone ----------------------------------------------------------------------------

    def _tokens(self, request: Request) -> tuple[int, Any, dict[str, str]]:
        identity = request.body["auth"]["identity"]
        if "application_credential" in identity.get("methods", []):
            credential = identity["application_credential"]
            accepted = (credential.get("id"), credential.get("secret")) == (
                APP_CREDENTIAL_ID,
                APP_CREDENTIAL_SECRET,
            )
        else:
            user = identity.get("password", {}).get("user", {})
            accepted = (user.get("name"), user.get("password")) == (USERNAME, PASSWORD)
        if not accepted:
            raise FakeError(
                401,
                {
                    "error": {
                        "code": 401,
                        "message": "The request you have made requires authentication.",
                    }
                },
            )
        catalog = [
            self._service("identity", "keystone", "/v3"),
            self._service("compute", "nova", "/compute/v2.1"),
            self._service("image", "glance", "/image/v2"),
            self._service("network", "neutron", "/network/v2.0"),
            self._service("reservation", "blazar", "/reservation/v1"),
        ]
        expires = dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)
        domain = {"id": "default", "name": "Default"}
        token = {
            "methods": ["password"],
            "expires_at": expires.strftime("%Y-%m-%dT%H:%M:%S.000000Z"),
            "issued_at": _now(),
            "user": {"id": "user-id", "name": USERNAME, "domain": domain},
            "project": {"id": "project-id", "name": PROJECT, "domain": domain},
            "roles": [{"id": "role-id", "name": "member"}],
            "catalog": catalog,
        }
        return 201, {"token": token}, {"X-Subject-Token": TOKEN}

    def _service(self, kind: str, name: str, path: str) -> dict[str, Any]:
        url = f"{self.base_url}{path}"
        return {
            "id": f"{name}-id",
            "type": kind,
            "name": name,
            "endpoints": [
                {
                    "id": f"{name}-{interface}",
                    "interface": interface,
                    "region": REGION,
                    "region_id": REGION,
                    "url": url,
                }
                for interface in ("public", "internal", "admin")
            ],
        }

    # --- Nova --------------------------------------------------------------------------------

    def _nova_version(self, request: Request) -> Any:
        return {
            "version": {
                "id": "v2.1",
                "status": "CURRENT",
                "version": NOVA_MAX_VERSION,
                "min_version": "2.1",
                "updated": "2013-07-23T11:33:21Z",
                "links": [{"rel": "self", "href": f"{self.base_url}/compute/v2.1/"}],
            }
        }

    def _flavor(self, request: Request, flavor_id: str) -> Any:
        flavor = self.flavors.get(flavor_id)
        if flavor is None:
            raise _nova_not_found(f"Flavor {flavor_id}")
        return {"flavor": self._flavor_body(flavor)}

    def _flavors(self, request: Request) -> Any:
        return {"flavors": [self._flavor_body(f) for f in self.flavors.values()]}

    def _flavor_body(self, flavor: dict[str, Any]) -> dict[str, Any]:
        return {
            **flavor,
            "ram": 0,
            "vcpus": 0,
            "disk": 0,
            "OS-FLV-EXT-DATA:ephemeral": 0,
            "os-flavor-access:is_public": True,
            "description": None,
            "extra_specs": {},
            "links": [],
        }

    def _get_keypair(self, request: Request, name: str) -> Any:
        if name not in self.keypairs:
            raise _nova_not_found(f"Keypair {name}")
        return {"keypair": self.keypairs[name]}

    def _keypairs(self, request: Request) -> Any:
        return {"keypairs": [{"keypair": k} for k in self.keypairs.values()]}

    def _create_keypair(self, request: Request) -> Any:
        body = request.body["keypair"]
        name = body["name"]
        if name in self.keypairs:
            raise FakeError(409, {"conflictingRequest": {"code": 409, "message": "exists"}})
        if not body.get("public_key"):
            raise FakeError(400, {"badRequest": {"code": 400, "message": "public_key required"}})
        self.keypairs[name] = self._keypair(name, body["public_key"])
        return {"keypair": self.keypairs[name]}

    def _create_server(self, request: Request) -> tuple[int, Any]:
        body = request.body["server"]
        server_id = str(uuid.uuid4())
        network_id = body["networks"][0]["uuid"]
        fixed = f"10.140.0.{next(self._addresses)}"
        port_id = str(uuid.uuid4())
        self.ports[port_id] = {
            "id": port_id,
            "device_id": server_id,
            "device_owner": "compute:nova",
            "network_id": network_id,
            "fixed_ips": [{"ip_address": fixed, "subnet_id": "subnet-id"}],
            "status": "ACTIVE",
            "mac_address": "fa:16:3e:00:00:01",
        }
        network_name = self.networks[network_id]["name"]
        self.servers[server_id] = {
            "id": server_id,
            "name": body["name"],
            "status": "BUILD",
            "image": {"id": body.get("imageRef")},
            "flavor": {"original_name": body.get("flavorRef")},
            "key_name": body.get("key_name"),
            # The SDK sends the prefixed key; Nova accepts both spellings.
            "scheduler_hints": request.body.get(
                "OS-SCH-HNT:scheduler_hints", request.body.get("os:scheduler_hints", {})
            ),
            "addresses": {
                network_name: [
                    {"addr": fixed, "version": 4, "OS-EXT-IPS:type": "fixed"},
                ]
            },
            "created": _now(),
            "updated": _now(),
            "tenant_id": "project-id",
            "user_id": "user-id",
            "metadata": {},
            "links": [],
        }
        self._born[server_id] = time.monotonic()
        return 202, {"server": {"id": server_id, "links": [], "adminPass": "unused"}}

    def _servers(self, request: Request) -> Any:
        # Nova filters servers by name with a regular expression.
        pattern = re.compile(request.query.get("name", ".*"))
        found = [s for s in self.servers.values() if pattern.search(s["name"])]
        return {"servers": [self._server_view(s) for s in found]}

    def _get_server(self, request: Request, server_id: str) -> Any:
        with self._lock:
            server = self.servers.get(server_id)
            if server is None:
                raise _nova_not_found(f"Instance {server_id}")
            if server["status"] == "BUILD":
                seen = self._count_get(server_id)
                if self.server_outcome is ServerOutcome.ERROR and seen >= 1:
                    server["status"] = "ERROR"
                    server["fault"] = {
                        "code": 500,
                        "message": self.server_fault,
                        "details": "Traceback: scheduler",
                        "created": _now(),
                    }
                elif self.server_outcome is ServerOutcome.ACTIVATES and self._ready(
                    server_id, seen, self.server_gets_until_active, self.server_active_after
                ):
                    server["status"] = "ACTIVE"
            return {"server": self._server_view(server)}

    def _server_view(self, server: dict[str, Any]) -> dict[str, Any]:
        view = {k: v for k, v in server.items() if k != "scheduler_hints"}
        view["addresses"] = json.loads(json.dumps(server["addresses"]))
        for ip in self.floating_ips.values():
            port = self.ports.get(ip["port_id"] or "")
            if port and port["device_id"] == server["id"]:
                network_name = self.networks[port["network_id"]]["name"]
                view["addresses"][network_name].append(
                    {"addr": ip["floating_ip_address"], "version": 4, "OS-EXT-IPS:type": "floating"}
                )
        return view

    def _delete_server(self, request: Request, server_id: str) -> tuple[int, Any]:
        if self.servers.pop(server_id, None) is None:
            raise _nova_not_found(f"Instance {server_id}")
        for port_id in [p for p, port in self.ports.items() if port["device_id"] == server_id]:
            del self.ports[port_id]
            for ip in self.floating_ips.values():
                if ip["port_id"] == port_id:
                    ip.update(port_id=None, fixed_ip_address=None, status="DOWN")
        return 204, None

    # --- Glance ------------------------------------------------------------------------------

    def _images(self, request: Request) -> Any:
        images = list(self.images.values())
        if "name" in request.query:
            images = [i for i in images if i["name"] == request.query["name"]]
        return {"images": images, "schema": "/v2/schemas/images", "first": "/v2/images"}

    def _image(self, request: Request, image_id: str) -> Any:
        if image_id not in self.images:
            raise FakeError(404, {"message": "Image not found", "code": "404 Not Found"})
        return self.images[image_id]

    # --- Neutron -----------------------------------------------------------------------------

    @staticmethod
    def _filtered(items: list[dict[str, Any]], query: dict[str, str]) -> list[dict[str, Any]]:
        def matches(item: dict[str, Any]) -> bool:
            for key, wanted in query.items():
                if key in ("fields", "limit", "marker", "sort_key", "sort_dir") or key not in item:
                    continue
                value = item[key]
                if isinstance(value, bool):
                    value = str(value)
                if str(value if value is not None else "") != wanted and not (
                    isinstance(item[key], bool) and wanted.lower() == str(item[key]).lower()
                ):
                    return False
            return True

        return [item for item in items if matches(item)]

    def _networks(self, request: Request) -> Any:
        return {"networks": self._filtered(list(self.networks.values()), request.query)}

    def _network(self, request: Request, network_id: str) -> Any:
        if network_id not in self.networks:
            raise _neutron_error(
                404, "NetworkNotFound", f"Network {network_id} could not be found."
            )
        return {"network": self.networks[network_id]}

    def _ports(self, request: Request) -> Any:
        return {"ports": self._filtered(list(self.ports.values()), request.query)}

    def _floating_ips_list(self, request: Request) -> Any:
        return {"floatingips": self._filtered(list(self.floating_ips.values()), request.query)}

    def _create_floating_ip(self, request: Request) -> tuple[int, Any]:
        body = request.body["floatingip"]
        with self._lock:
            if self.floating_ip_capacity <= 0:
                raise _neutron_error(
                    409,
                    "IpAddressGenerationFailure",
                    f"No more IP addresses available on network {body['floating_network_id']}.",
                )
            self.floating_ip_capacity -= 1
            ip_id = str(uuid.uuid4())
            address = f"192.5.87.{next(self._addresses)}"
            ip = self._floating_ip(ip_id, address, body["floating_network_id"], body.get("port_id"))
            self.floating_ips[ip_id] = ip
        return 201, {"floatingip": ip}

    def _floating_ip_by_id(self, ip_id: str) -> dict[str, Any]:
        if ip_id not in self.floating_ips:
            raise _neutron_error(
                404, "FloatingIPNotFound", f"Floating IP {ip_id} could not be found"
            )
        return self.floating_ips[ip_id]

    def _get_floating_ip(self, request: Request, ip_id: str) -> Any:
        return {"floatingip": self._floating_ip_by_id(ip_id)}

    def _update_floating_ip(self, request: Request, ip_id: str) -> Any:
        ip = self._floating_ip_by_id(ip_id)
        port_id = request.body["floatingip"].get("port_id")
        port = self.ports.get(port_id or "")
        if port_id and port is None:
            raise _neutron_error(404, "PortNotFound", f"Port {port_id} could not be found.")
        ip.update(
            port_id=port_id,
            fixed_ip_address=port["fixed_ips"][0]["ip_address"] if port else None,
            status="ACTIVE" if port else "DOWN",
        )
        return {"floatingip": ip}

    def _delete_floating_ip(self, request: Request, ip_id: str) -> tuple[int, Any]:
        self._floating_ip_by_id(ip_id)
        del self.floating_ips[ip_id]
        return 204, None

    # --- Blazar ------------------------------------------------------------------------------

    def _blazar_version_body(self) -> dict[str, Any]:
        return {
            "id": "v1.0",
            "status": "CURRENT",
            "links": [{"rel": "self", "href": f"{self.base_url}/reservation/v1/"}],
        }

    def _blazar_versions(self, request: Request) -> tuple[int, Any]:
        return 300, {"versions": [self._blazar_version_body()]}

    def _blazar_version(self, request: Request) -> Any:
        return {"version": self._blazar_version_body()}

    def _create_lease(self, request: Request) -> tuple[int, Any]:
        body = request.body
        if self.lease_outcome is LeaseOutcome.NO_RESOURCES or self._too_long(body):
            raise _blazar_error(409, "NotEnoughHostsAvailable", "Not enough hosts available")
        lease_id = str(uuid.uuid4())
        reservations = [
            {
                "id": str(uuid.uuid4()),
                "lease_id": lease_id,
                "status": "pending",
                "resource_type": r.get("resource_type"),
                "min": r.get("min"),
                "max": r.get("max"),
                "resource_properties": r.get("resource_properties", ""),
                "hypervisor_properties": r.get("hypervisor_properties", ""),
            }
            for r in body.get("reservations", [])
        ]
        self.leases[lease_id] = {
            "id": lease_id,
            "name": body["name"],
            "start_date": body["start_date"],
            "end_date": body["end_date"],
            "status": "PENDING",
            "degraded": False,
            "reservations": reservations,
            "events": [],
            "project_id": "project-id",
            "user_id": "user-id",
            "created_at": _now(),
        }
        self._born[lease_id] = time.monotonic()
        return 201, {"lease": self.leases[lease_id]}

    def _too_long(self, body: dict[str, Any]) -> bool:
        if self.longest_free_lease_hours is None:
            return False
        start, end = (
            dt.datetime.strptime(body[key], "%Y-%m-%d %H:%M").replace(tzinfo=dt.UTC)
            for key in ("start_date", "end_date")
        )
        return (end - start).total_seconds() / 3600 > self.longest_free_lease_hours

    def _leases(self, request: Request) -> Any:
        return {"leases": list(self.leases.values())}

    def _get_lease(self, request: Request, lease_id: str) -> Any:
        with self._lock:
            lease = self.leases.get(lease_id)
            if lease is None:
                raise _blazar_error(
                    404, "NotFound", f"Object with {{'id': '{lease_id}'}} not found"
                )
            if lease["status"] == "PENDING":
                seen = self._count_get(lease_id)
                if self.lease_outcome is LeaseOutcome.ERROR and seen >= 1:
                    lease["status"] = "ERROR"
                elif self.lease_outcome is LeaseOutcome.ACTIVATES and self._ready(
                    lease_id, seen, self.lease_gets_until_active, self.lease_active_after
                ):
                    lease["status"] = "ACTIVE"
                    for reservation in lease["reservations"]:
                        reservation["status"] = "active"
            return {"lease": lease}

    def _delete_lease(self, request: Request, lease_id: str) -> tuple[int, Any]:
        if self.leases.pop(lease_id, None) is None:
            raise _blazar_error(404, "NotFound", f"Object with {{'id': '{lease_id}'}} not found")
        return 204, None

    # --- routing -----------------------------------------------------------------------------

    def _route_table(self) -> list[Route]:
        uid = r"([^/]+)"
        table: list[tuple[str, str, Callable[..., Any]]] = [
            ("POST", r"/v3/auth/tokens", self._tokens),
            ("GET", r"/compute/v2\.1/?", self._nova_version),
            ("GET", r"/compute/v2\.1/flavors(?:/detail)?", self._flavors),
            ("GET", rf"/compute/v2\.1/flavors/{uid}", self._flavor),
            ("GET", r"/compute/v2\.1/os-keypairs", self._keypairs),
            ("POST", r"/compute/v2\.1/os-keypairs", self._create_keypair),
            ("GET", rf"/compute/v2\.1/os-keypairs/{uid}", self._get_keypair),
            ("POST", r"/compute/v2\.1/servers", self._create_server),
            ("GET", r"/compute/v2\.1/servers(?:/detail)?", self._servers),
            ("GET", rf"/compute/v2\.1/servers/{uid}", self._get_server),
            ("DELETE", rf"/compute/v2\.1/servers/{uid}", self._delete_server),
            ("GET", r"/image/v2/images", self._images),
            ("GET", rf"/image/v2/images/{uid}", self._image),
            ("GET", r"/network/v2\.0/networks", self._networks),
            ("GET", rf"/network/v2\.0/networks/{uid}", self._network),
            ("GET", r"/network/v2\.0/ports", self._ports),
            ("GET", r"/network/v2\.0/floatingips", self._floating_ips_list),
            ("POST", r"/network/v2\.0/floatingips", self._create_floating_ip),
            ("GET", rf"/network/v2\.0/floatingips/{uid}", self._get_floating_ip),
            ("PUT", rf"/network/v2\.0/floatingips/{uid}", self._update_floating_ip),
            ("DELETE", rf"/network/v2\.0/floatingips/{uid}", self._delete_floating_ip),
            ("GET", r"/reservation", self._blazar_versions),
            ("GET", r"/reservation/v1", self._blazar_version),
            ("GET", r"/reservation/v1/leases", self._leases),
            ("POST", r"/reservation/v1/leases", self._create_lease),
            ("GET", rf"/reservation/v1/leases/{uid}", self._get_lease),
            ("DELETE", rf"/reservation/v1/leases/{uid}", self._delete_lease),
        ]
        return [(method, re.compile(pattern), handler) for method, pattern, handler in table]

    def _dispatch(self, request: Request) -> tuple[int, Any, dict[str, str]]:
        self.requests.append(request)
        if request.path != "/v3/auth/tokens" and request.headers.get("x-auth-token") != TOKEN:
            return 401, {"error": {"code": 401, "message": "Authentication required"}}, {}
        with self._lock:
            for outage in self.outages:
                if (
                    outage[2] > 0
                    and outage[0] == request.method
                    and outage[1].fullmatch(request.path)
                ):
                    outage[2] -= 1
                    return outage[3], {"message": "Service Unavailable", "code": outage[3]}, {}
        for method, pattern, handler in self._routes:
            match = pattern.fullmatch(request.path)
            if method == request.method and match:
                try:
                    with self._lock:
                        result = handler(request, *match.groups())
                except FakeError as error:
                    return error.status, error.body, {}
                if isinstance(result, tuple) and len(result) == 3:
                    return result
                if isinstance(result, tuple):
                    return result[0], result[1], {}
                return 200, result, {}
        return 404, {"error": f"no route for {request.method} {request.path}"}, {}

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body leave as one segment: otherwise Nagle's algorithm and delayed
            # ACKs cost ~40 ms per request on loopback.
            disable_nagle_algorithm = True
            wbufsize = 64 * 1024

            def log_message(self, *args: Any) -> None:
                """Quiet: test output stays readable."""

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                parts = urlsplit(self.path)
                request = Request(
                    method=self.command,
                    path=parts.path.rstrip("/") or "/",
                    query=dict(parse_qsl(parts.query)),
                    body=json.loads(raw) if raw else None,
                    headers={k.lower(): v for k, v in self.headers.items()},
                )
                status, body, headers = fake._dispatch(request)
                data = b"" if body is None else json.dumps(body).encode()
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                if status == 200 and request.path.startswith("/compute"):
                    self.send_header("OpenStack-API-Version", f"compute {NOVA_MAX_VERSION}")
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_DELETE = _handle  # noqa: N815

        return Handler
