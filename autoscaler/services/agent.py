"""The agent's side of heartbeats: register once, report every minute, follow central config.

An installation is an agent when ``DAGYARD_BACKEND_URL`` is set. On its first beat it registers
with ``DAGYARD_ENROLL_TOKEN`` and keeps the node id and API key it gets in a file only its owner
can read (``<data dir>/agent-identity.json``). Each beat reports its status, the hash of the
config it runs and its pools' latest numbers; when the backend answers ``config_update_needed``
it fetches the config, writes it to ``<data dir>/agent-config.yaml`` and imports its pools, which
the next tick evaluates. A backend that is down or refuses is logged; the agent keeps scaling on
its last config and tries again at the next beat.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import fcntl
import json
import logging
import os
import socket
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from django.conf import settings

from autoscaler.decision import Outcome
from autoscaler.models import Pool
from autoscaler.pool_config import PoolConfigError
from autoscaler.services.pools import import_pools
from autoscaler.states import NodeStatus
from orchestrator.environment import write_private_file

logger = logging.getLogger(__name__)

IDENTITY_FILE = "agent-identity.json"
CONFIG_FILE = "agent-config.yaml"
LOCK_FILE = "agent-heartbeat.lock"
REQUEST_TIMEOUT_SECONDS = 30.0

ERR_NOT_ENROLLED = (
    "DAGYARD_BACKEND_URL is set but this agent is not registered and DAGYARD_ENROLL_TOKEN is "
    "empty: create a token on the backend with `dagyard nodes enroll-token`"
)
ERR_BEAT_RUNNING = "the previous heartbeat is still running; skipped this one"
ERR_BACKEND = "backend {url} {action} failed: {error}"
ERR_BAD_ANSWER = "backend {url} answered {action} without {field}"


class BeatOutcome(enum.StrEnum):
    DISABLED = "disabled"
    """No DAGYARD_BACKEND_URL: this installation is not an agent."""
    SKIPPED = "skipped"
    """The previous beat is still running."""
    NOT_ENROLLED = "not_enrolled"
    IN_SYNC = "in_sync"
    CONFIG_APPLIED = "config_applied"
    CONFIG_REFUSED = "config_refused"
    BACKEND_UNAVAILABLE = "backend_unavailable"
    """Timed out, unreachable or refused (4xx/5xx); retried at the next beat."""


@dataclass(frozen=True)
class BeatReport:
    outcome: BeatOutcome
    detail: str = ""
    node_id: int | None = None


@dataclass(frozen=True)
class AgentIdentity:
    node_id: int
    api_key: str
    backend_url: str
    config_hash: str = ""


class BackendError(Exception):
    """The backend could not be reached or refused the request."""


def backend_url() -> str:
    return os.environ.get("DAGYARD_BACKEND_URL", "").strip().rstrip("/")


def identity_path() -> Path:
    return Path(settings.DATA_DIR) / IDENTITY_FILE


def config_path() -> Path:
    return Path(settings.DATA_DIR) / CONFIG_FILE


def read_identity() -> AgentIdentity | None:
    try:
        return AgentIdentity(**json.loads(identity_path().read_text()))
    except (FileNotFoundError, ValueError, TypeError):
        return None


def write_identity(identity: AgentIdentity) -> None:
    write_private_file(identity_path(), json.dumps(dataclasses.asdict(identity)))


def heartbeat(*, now: dt.datetime) -> BeatReport:
    """One beat: register if needed, report, and follow a changed config.

    Beats never overlap: a beat still waiting on a slow backend makes the next one skip, so two
    beats can never register the same installation twice.
    """
    url = backend_url()
    if not url:
        return BeatReport(BeatOutcome.DISABLED)
    lock_path = Path(settings.DATA_DIR) / LOCK_FILE
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "a") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return BeatReport(BeatOutcome.SKIPPED, ERR_BEAT_RUNNING)
        try:
            return _beat(url)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _beat(url: str) -> BeatReport:
    identity = read_identity()
    try:
        if identity is None or identity.backend_url != url:
            identity = _register(url)
            if identity is None:
                logger.error(ERR_NOT_ENROLLED)
                return BeatReport(BeatOutcome.NOT_ENROLLED, ERR_NOT_ENROLLED)
        answer = _request(
            "POST",
            f"{url}/api/heartbeat",
            {
                "node_id": identity.node_id,
                "status": agent_status().value,
                "config_hash": identity.config_hash,
                "pool_analytics": pool_analytics(),
            },
            api_key=identity.api_key,
        )
        if not answer.get("config_update_needed"):
            return BeatReport(BeatOutcome.IN_SYNC, node_id=identity.node_id)
        central = _request(
            "GET", f"{url}/api/nodes/{identity.node_id}/config", None, api_key=identity.api_key
        )
    except BackendError as error:
        logger.warning("%s; retrying at the next heartbeat", error)
        return BeatReport(
            BeatOutcome.BACKEND_UNAVAILABLE,
            str(error),
            node_id=identity.node_id if identity else None,
        )
    return _apply_config(identity, central)


def agent_status() -> NodeStatus:
    """Degraded when a pool's latest evaluation failed; healthy otherwise."""
    for pool in Pool.objects.all():
        latest = pool.evaluations.order_by("-at", "-id").first()
        if latest is not None and latest.outcome == Outcome.ERROR:
            return NodeStatus.DEGRADED
    return NodeStatus.HEALTHY


def pool_analytics() -> dict[str, Any]:
    """Each pool's latest evaluation, as the backend's page shows it."""
    analytics: dict[str, Any] = {}
    for pool in Pool.objects.all():
        latest = pool.evaluations.order_by("-at", "-id").first()
        analytics[pool.name] = (
            {
                "at": latest.at.isoformat(),
                "outcome": latest.outcome,
                "size": latest.size_after,
                "cpu": latest.cpu,
                "ram": latest.ram,
            }
            if latest
            else None
        )
    return analytics


def _register(url: str) -> AgentIdentity | None:
    token = os.environ.get("DAGYARD_ENROLL_TOKEN", "").strip()
    if not token:
        return None
    name = os.environ.get("DAGYARD_NODE_NAME", "").strip() or socket.gethostname()
    answer = _request(
        "POST", f"{url}/api/nodes/register", {"enrollment_token": token, "name": name}
    )
    node_id, api_key = answer.get("node_id"), answer.get("api_key")
    if not isinstance(node_id, int) or not isinstance(api_key, str):
        raise BackendError(ERR_BAD_ANSWER.format(url=url, action="register", field="node_id"))
    identity = AgentIdentity(node_id=node_id, api_key=api_key, backend_url=url)
    write_identity(identity)
    logger.info("registered with %s as node %s", url, node_id)
    return identity


def _apply_config(identity: AgentIdentity, central: dict[str, Any]) -> BeatReport:
    document, new_hash = central.get("config"), central.get("config_hash")
    if not isinstance(document, dict) or not isinstance(new_hash, str):
        detail = ERR_BAD_ANSWER.format(url=identity.backend_url, action="config", field="config")
        logger.warning(detail)
        return BeatReport(BeatOutcome.BACKEND_UNAVAILABLE, detail, node_id=identity.node_id)
    text = yaml.safe_dump(document, sort_keys=False)
    try:
        report = import_pools(text, pause_missing=True)
    except PoolConfigError as error:
        logger.error("central config refused, keeping the last one: %s", error)
        return BeatReport(BeatOutcome.CONFIG_REFUSED, str(error), node_id=identity.node_id)
    write_private_file(config_path(), text)
    write_identity(dataclasses.replace(identity, config_hash=new_hash))
    detail = (
        f"created {len(report.created)}, updated {len(report.updated)}, "
        f"unchanged {len(report.unchanged)}, paused {len(report.paused)} pool(s)"
    )
    logger.info("applied central config %s: %s", new_hash[:12], detail)
    return BeatReport(BeatOutcome.CONFIG_APPLIED, detail, node_id=identity.node_id)


def _request(
    method: str, url: str, body: dict[str, Any] | None, *, api_key: str | None = None
) -> dict[str, Any]:
    action = f"{method} {url.rsplit('/api/', 1)[-1]}"
    if not url.startswith(("http://", "https://")):
        raise BackendError(ERR_BACKEND.format(url=url, action=action, error="not http(s)"))
    headers = {"Accept": "application/json"}
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    if api_key:
        headers["X-API-Key"] = api_key
    request = urllib.request.Request(url, data=data, method=method, headers=headers)  # noqa: S310
    base = url.split("/api/", 1)[0]
    try:
        with urllib.request.urlopen(request, timeout=REQUEST_TIMEOUT_SECONDS) as response:  # noqa: S310 - scheme checked above
            answer = json.load(response)
    except urllib.error.HTTPError as error:
        raise BackendError(
            ERR_BACKEND.format(url=base, action=action, error=f"{error.code} {_error_text(error)}")
        ) from error
    except (urllib.error.URLError, TimeoutError, OSError, ValueError) as error:
        raise BackendError(ERR_BACKEND.format(url=base, action=action, error=error)) from error
    if not isinstance(answer, dict):
        raise BackendError(ERR_BACKEND.format(url=base, action=action, error="not a JSON object"))
    return answer


def _error_text(error: urllib.error.HTTPError) -> str:
    """The backend's words: ``{"error": {"message": ...}}``, or ``{"error": "..."}`` from a
    backend older than the shared error shape."""
    try:
        body = json.loads(error.read() or b"{}")
    except ValueError:
        return str(error.reason)
    refusal = body.get("error") if isinstance(body, dict) else None
    if isinstance(refusal, dict):
        refusal = refusal.get("message")
    return str(refusal or error.reason)
