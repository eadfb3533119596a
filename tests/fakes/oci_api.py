"""A loopback stand-in for OCI's Compute Management and Monitoring APIs.

The real ``oci`` SDK talks to it over HTTP (``service_endpoint=fake.endpoint``), so tests cover
request signing, camelCase (de)serialisation, pagination helpers and the SDK's error types
exactly as production meets them. Requests must carry a signature header, but the signature itself
is not checked. Instance pools and per-instance metrics live in memory; tests set metrics, read
sizes and script failures (``fail_next("update_instance_pool", 503, times=3)``).

    with FakeOciApi() as fake:
        fake.add_pool("ocid1.instancepool.oc1..web", size=2)
        config = make_oci_config(tmp_path)
        pools = OciInstancePools(config, service_endpoint=fake.endpoint)
"""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
import json
import re
import threading
from collections import defaultdict, deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

DEFAULT_COMPARTMENT = "ocid1.compartment.oc1..dagyardtest"
DEFAULT_REGION = "us-ashburn-1"

ROUTES = (
    "get_instance_pool",
    "update_instance_pool",
    "list_instance_pool_instances",
    "summarize_metrics_data",
)

ERROR_CODES = {
    400: "InvalidParameter",
    401: "NotAuthenticated",
    404: "NotAuthorizedOrNotFound",
    409: "Conflict",
    429: "TooManyRequests",
    500: "InternalServerError",
    503: "ServiceUnavailable",
}

_POOL_PATH = re.compile(r"^/20160918/instancePools/(?P<pool>[^/]+)$")
_POOL_INSTANCES_PATH = re.compile(r"^/20160918/instancePools/(?P<pool>[^/]+)/instances$")
_SUMMARIZE_PATH = "/20180401/metrics/actions/summarizeMetricsData"
_QUERY = re.compile(
    r'^(?P<metric>\w+)\[(?P<interval>\w+)\]\{resourceId\s*=\s*"(?P<resource>[^"]+)"\}'
    r"\.(?P<statistic>\w+)\(\)$"
)


@dataclass
class FakeInstance:
    id: str
    display_name: str
    state: str = "Running"
    time_created: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))


@dataclass
class FakePool:
    id: str
    compartment_id: str
    display_name: str
    instances: list[FakeInstance] = field(default_factory=list)
    lifecycle_state: str = "RUNNING"

    @property
    def size(self) -> int:
        return len(self.instances)


@dataclass(frozen=True)
class RecordedCall:
    """One request the stand-in answered, for tests that count attempts or read bodies."""

    route: str
    method: str
    path: str
    query: dict[str, list[str]]
    body: Any
    status: int


@dataclass
class _ScriptedFailure:
    status: int
    remaining: int
    code: str


class FakeOciApi:
    """The stand-in server; a context manager, or ``start()`` / ``stop()`` from a fixture."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pools: dict[str, FakePool] = {}
        self._metrics: dict[tuple[str, str], list[float]] = {}
        self._failures: dict[str, deque[_ScriptedFailure]] = defaultdict(deque)
        self._ids = itertools.count(1)
        self.calls: list[RecordedCall] = []
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> FakeOciApi:
        handler = type("BoundHandler", (_Handler,), {"api": self})
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        # A short poll interval lets stop() return promptly instead of after half a second.
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="fake-oci-api",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join()
        self._server = self._thread = None

    def __enter__(self) -> FakeOciApi:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def endpoint(self) -> str:
        """The ``service_endpoint`` to hand to both ComputeManagement and Monitoring clients."""
        if self._server is None:
            raise RuntimeError("the OCI stand-in is not started")
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    # -- state the tests arrange and inspect -------------------------------------------------

    def add_pool(
        self,
        pool_id: str,
        *,
        size: int,
        compartment_id: str = DEFAULT_COMPARTMENT,
        display_name: str | None = None,
    ) -> list[str]:
        """Create a pool of ``size`` running instances; returns their ids."""
        with self._lock:
            pool = FakePool(
                id=pool_id, compartment_id=compartment_id, display_name=display_name or pool_id
            )
            self._pools[pool_id] = pool
            self._resize(pool, size)
            return [instance.id for instance in pool.instances]

    def pool_size(self, pool_id: str) -> int:
        with self._lock:
            return self._pools[pool_id].size

    def instance_ids(self, pool_id: str) -> list[str]:
        with self._lock:
            return [instance.id for instance in self._pools[pool_id].instances]

    def set_metrics(
        self,
        instance_id: str,
        *,
        cpu: float | Sequence[float] | None = None,
        ram: float | Sequence[float] | None = None,
    ) -> None:
        """Set the one-minute points an instance reports; ``None`` leaves a metric silent."""
        with self._lock:
            for metric, values in (("CpuUtilization", cpu), ("MemoryUtilization", ram)):
                key = (instance_id, metric)
                if values is None:
                    self._metrics.pop(key, None)
                elif isinstance(values, int | float):
                    self._metrics[key] = [float(values)]
                else:
                    self._metrics[key] = [float(value) for value in values]

    def fail_next(
        self, route: str, status: int, *, times: int = 1, code: str | None = None
    ) -> None:
        """Answer the next ``times`` calls of ``route`` with ``status``.

        Scripts for one route queue up: ``fail_next(r, 429); fail_next(r, 503)`` fails the next
        call with 429 and the one after with 503.
        """
        if route not in ROUTES:
            raise ValueError(f"unknown route {route!r}; routes: {', '.join(ROUTES)}")
        with self._lock:
            self._failures[route].append(
                _ScriptedFailure(status, times, code or ERROR_CODES.get(status, "Error"))
            )

    def calls_to(self, route: str) -> list[RecordedCall]:
        with self._lock:
            return [call for call in self.calls if call.route == route]

    # -- request handling (called from the server's threads) ---------------------------------

    def handle(self, method: str, raw_path: str, body: Any, signed: bool) -> tuple[int, Any]:
        parts = urlsplit(raw_path)
        query = parse_qs(parts.query)
        route, pool_id = _route(method, parts.path)
        with self._lock:
            status, payload = self._answer(route, pool_id, query, body, signed)
            self.calls.append(
                RecordedCall(route or "unknown", method, parts.path, query, body, status)
            )
            return status, payload

    def _answer(
        self,
        route: str | None,
        pool_id: str | None,
        query: dict[str, list[str]],
        body: Any,
        signed: bool,
    ) -> tuple[int, Any]:
        if not signed:
            return _error(
                401,
                "NotAuthenticated",
                "The required information to complete authentication was not provided.",
            )
        if route is None:
            return _error(404, "NotFound", "Not a route of the OCI stand-in.")
        failure = self._take_failure(route)
        if failure is not None:
            return _error(failure.status, failure.code, f"Scripted {failure.status} answer.")
        if route == "summarize_metrics_data":
            return 200, self._summarize(query, body)
        pool = self._pools.get(pool_id or "")
        if pool is None:
            return _error(
                404,
                "NotAuthorizedOrNotFound",
                "Authorization failed or requested resource not found.",
            )
        if route == "get_instance_pool":
            return 200, _pool_json(pool)
        if route == "update_instance_pool":
            size = body.get("size") if isinstance(body, dict) else None
            if size is not None:
                if not isinstance(size, int) or size < 0:
                    return _error(400, "InvalidParameter", "size must be 0 or more.")
                self._resize(pool, size)
            return 200, _pool_json(pool)
        if query.get("compartmentId", [None])[0] != pool.compartment_id:
            return _error(404, "NotAuthorizedOrNotFound", "Compartment does not match the pool.")
        return 200, [_instance_json(pool, instance) for instance in pool.instances]

    def _take_failure(self, route: str) -> _ScriptedFailure | None:
        queue = self._failures[route]
        if not queue:
            return None
        failure = queue[0]
        failure.remaining -= 1
        if failure.remaining <= 0:
            queue.popleft()
        return failure

    def _summarize(self, query: dict[str, list[str]], body: Any) -> list[dict[str, Any]]:
        if not isinstance(body, dict) or body.get("namespace") != "oci_computeagent":
            return []
        match = _QUERY.match(body.get("query", ""))
        if match is None:
            return []
        values = self._metrics.get((match["resource"], match["metric"]))
        if not values:
            return []
        end = _parse_time(body.get("endTime")) or dt.datetime.now(dt.UTC)
        first = end - dt.timedelta(minutes=len(values) - 1)
        points = [
            {"timestamp": _time_text(first + dt.timedelta(minutes=index)), "value": value}
            for index, value in enumerate(values)
        ]
        return [
            {
                "namespace": "oci_computeagent",
                "compartmentId": query.get("compartmentId", [DEFAULT_COMPARTMENT])[0],
                "name": match["metric"],
                "dimensions": {"resourceId": match["resource"]},
                "metadata": {"unit": "percent"},
                "resolution": match["interval"],
                "aggregatedDatapoints": points,
            }
        ]

    def _resize(self, pool: FakePool, size: int) -> None:
        while pool.size < size:
            number = next(self._ids)
            pool.instances.append(
                FakeInstance(
                    id=f"ocid1.instance.oc1..fake{number:05d}",
                    display_name=f"{pool.display_name}-{number}",
                )
            )
        del pool.instances[size:]


def make_oci_config(directory: Path, *, region: str = DEFAULT_REGION) -> dict[str, str]:
    """An OCI configuration mapping with a freshly generated RSA key written to ``directory``.

    The fingerprint is the MD5 of the public key's DER encoding, as OCI computes it, so the
    configuration passes the SDK's own validation.
    """
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    key_file = directory / "oci_api_key.pem"
    key_file.write_bytes(
        key.private_bytes(
            encoding=serialization.Encoding.PEM,
            format=serialization.PrivateFormat.PKCS8,
            encryption_algorithm=serialization.NoEncryption(),
        )
    )
    key_file.chmod(0o600)
    public_der = key.public_key().public_bytes(
        encoding=serialization.Encoding.DER,
        format=serialization.PublicFormat.SubjectPublicKeyInfo,
    )
    digest = hashlib.md5(public_der, usedforsecurity=False).hexdigest()
    return {
        "user": "ocid1.user.oc1..dagyardtest",
        "tenancy": "ocid1.tenancy.oc1..dagyardtest",
        "fingerprint": ":".join(digest[i : i + 2] for i in range(0, len(digest), 2)),
        "key_file": str(key_file),
        "region": region,
    }


class _Handler(BaseHTTPRequestHandler):
    api: FakeOciApi

    # http.server dispatches on these names.
    def do_GET(self) -> None:
        self._serve()

    def do_PUT(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except json.JSONDecodeError:
            body = None
        signed = (self.headers.get("Authorization") or "").startswith("Signature ")
        status, payload = self.api.handle(self.command, self.path, body, signed)
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("opc-request-id", f"fake-{next(_REQUEST_IDS)}")
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the tests read ``FakeOciApi.calls`` instead of a request log."""


_REQUEST_IDS = itertools.count(1)


def _route(method: str, path: str) -> tuple[str | None, str | None]:
    if method == "POST" and path == _SUMMARIZE_PATH:
        return "summarize_metrics_data", None
    if match := _POOL_PATH.match(path):
        routes = {"GET": "get_instance_pool", "PUT": "update_instance_pool"}
        return routes.get(method), match["pool"]
    if (match := _POOL_INSTANCES_PATH.match(path)) and method == "GET":
        return "list_instance_pool_instances", match["pool"]
    return None, None


def _error(status: int, code: str, message: str) -> tuple[int, dict[str, str]]:
    return status, {"code": code, "message": message}


def _pool_json(pool: FakePool) -> dict[str, Any]:
    return {
        "id": pool.id,
        "compartmentId": pool.compartment_id,
        "displayName": pool.display_name,
        "instanceConfigurationId": "ocid1.instanceconfiguration.oc1..fake",
        "lifecycleState": pool.lifecycle_state,
        "placementConfigurations": [],
        "size": pool.size,
        "timeCreated": _time_text(dt.datetime(2026, 1, 1, tzinfo=dt.UTC)),
    }


def _instance_json(pool: FakePool, instance: FakeInstance) -> dict[str, Any]:
    return {
        "id": instance.id,
        "availabilityDomain": "Uocm:US-ASHBURN-AD-1",
        "compartmentId": pool.compartment_id,
        "displayName": instance.display_name,
        "faultDomain": "FAULT-DOMAIN-1",
        "instanceConfigurationId": "ocid1.instanceconfiguration.oc1..fake",
        "region": "iad",
        "shape": "VM.Standard.E4.Flex",
        "state": instance.state,
        "timeCreated": _time_text(instance.time_created),
        "loadBalancerBackends": [],
    }


def _time_text(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _parse_time(text: Any) -> dt.datetime | None:
    if not isinstance(text, str):
        return None
    try:
        return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
