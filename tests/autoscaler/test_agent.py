"""The agent side over real HTTP: register, heartbeat, follow a central config, survive outages.

The backend is this test session's live server; agent and backend share the test database here,
which is enough to see a config set on the backend become pools on the agent.
"""

from __future__ import annotations

import fcntl
import io
import json
import socket
import stat
import urllib.error
from email.message import Message
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from autoscaler.models import AgentNode, Pool
from autoscaler.services import agent
from autoscaler.services.agent import AgentIdentity, BeatOutcome, BeatReport, heartbeat
from autoscaler.services.nodes import create_enrollment_token, set_node_config

POOLS_YAML = (
    "pools:\n"
    "  - name: batch\n"
    "    provider: local\n"
    "    instance_pool_id: batch\n"
    "    monitoring_method: local\n"
    "    cpu_threshold: 80\n"
    "    ram_threshold: 90\n"
    "    scaling_limits: {min: 0, max: 2}\n"
)


@pytest.fixture
def agent_environment(
    monkeypatch: pytest.MonkeyPatch, settings: Any, tmp_path: Path, live_server: Any
) -> str:
    settings.DATA_DIR = tmp_path
    _, token = create_enrollment_token(now=timezone.now(), note="agent test")
    monkeypatch.setenv("DAGYARD_BACKEND_URL", live_server.url)
    monkeypatch.setenv("DAGYARD_ENROLL_TOKEN", token)
    monkeypatch.setenv("DAGYARD_NODE_NAME", "agent-a")
    return str(live_server.url)


def closed_port_url() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_an_agent_registers_on_its_first_beat_and_keeps_its_key_private(
    agent_environment: str,
) -> None:
    report = heartbeat(now=timezone.now())

    node = AgentNode.objects.get()
    assert (report.outcome, report.node_id) == (BeatOutcome.IN_SYNC, node.pk)
    assert (node.name, node.status) == ("agent-a", "healthy")
    assert node.last_heartbeat_at is not None
    identity = json.loads(agent.identity_path().read_text())
    assert identity["node_id"] == node.pk
    assert identity["backend_url"] == agent_environment
    assert mode_of(agent.identity_path()) == 0o600


def test_a_config_set_on_the_backend_reaches_the_agent_and_becomes_its_pools(
    agent_environment: str,
) -> None:
    heartbeat(now=timezone.now())
    node = set_node_config(AgentNode.objects.get(), yaml_config=POOLS_YAML, now=timezone.now())

    applied = heartbeat(now=timezone.now())
    settled = heartbeat(now=timezone.now())

    assert applied.outcome == BeatOutcome.CONFIG_APPLIED
    assert applied.detail == "created 1, updated 0, unchanged 0, paused 0 pool(s)"
    assert settled.outcome == BeatOutcome.IN_SYNC
    pool = Pool.objects.get()
    assert (pool.name, pool.provider, pool.max_size) == ("batch", "local", 2)
    assert agent.read_identity().config_hash == node.config_hash  # type: ignore[union-attr]
    assert AgentNode.objects.get().config_in_sync
    assert "instance_pool_id: batch" in agent.config_path().read_text()
    assert mode_of(agent.config_path()) == 0o600


def test_a_changed_config_changes_the_agents_scaling(agent_environment: str) -> None:
    heartbeat(now=timezone.now())
    node = AgentNode.objects.get()
    set_node_config(node, yaml_config=POOLS_YAML, now=timezone.now())
    heartbeat(now=timezone.now())

    set_node_config(node, yaml_config=POOLS_YAML.replace("max: 2", "max: 5"), now=timezone.now())
    report = heartbeat(now=timezone.now())

    assert report.detail == "created 0, updated 1, unchanged 0, paused 0 pool(s)"
    assert Pool.objects.get().max_size == 5


def test_a_pool_the_central_config_no_longer_describes_is_paused_not_deleted(
    agent_environment: str,
) -> None:
    heartbeat(now=timezone.now())
    node = AgentNode.objects.get()
    set_node_config(node, yaml_config=POOLS_YAML, now=timezone.now())
    heartbeat(now=timezone.now())

    renamed = POOLS_YAML.replace("name: batch", "name: nightly")
    set_node_config(node, yaml_config=renamed, now=timezone.now())
    report = heartbeat(now=timezone.now())

    assert report.detail == "created 1, updated 0, unchanged 0, paused 1 pool(s)"
    assert dict(Pool.objects.values_list("name", "paused")) == {"batch": True, "nightly": False}


def test_a_backend_that_is_down_is_logged_and_the_agent_keeps_its_pools(
    agent_environment: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    heartbeat(now=timezone.now())
    set_node_config(AgentNode.objects.get(), yaml_config=POOLS_YAML, now=timezone.now())
    heartbeat(now=timezone.now())
    down = closed_port_url()
    identity = agent.read_identity()
    assert identity is not None
    agent.write_identity(AgentIdentity(identity.node_id, identity.api_key, down,
                                       identity.config_hash))  # fmt: skip
    monkeypatch.setenv("DAGYARD_BACKEND_URL", down)

    report = heartbeat(now=timezone.now())

    assert report.outcome == BeatOutcome.BACKEND_UNAVAILABLE
    assert report.detail.startswith(f"backend {down} POST heartbeat failed: ")
    assert "retrying at the next heartbeat" in caplog.text
    assert Pool.objects.get().name == "batch"
    assert agent.read_identity() == AgentIdentity(
        identity.node_id, identity.api_key, down, identity.config_hash
    )


def test_a_refused_key_is_reported_and_retried_at_the_next_beat(
    agent_environment: str,
) -> None:
    heartbeat(now=timezone.now())
    AgentNode.objects.all().delete()  # the backend forgot the node

    report = heartbeat(now=timezone.now())

    assert report.outcome == BeatOutcome.BACKEND_UNAVAILABLE
    assert report.detail == (
        f"backend {agent_environment} POST heartbeat failed: 401 the API key is not valid"
    )


def test_an_agent_without_a_token_says_how_to_get_one(
    agent_environment: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DAGYARD_ENROLL_TOKEN")

    report = heartbeat(now=timezone.now())

    assert report.outcome == BeatOutcome.NOT_ENROLLED
    assert report.detail == (
        "DAGYARD_BACKEND_URL is set but this agent is not registered and DAGYARD_ENROLL_TOKEN is "
        "empty: create a token on the backend with `dagyard nodes enroll-token`"
    )
    assert AgentNode.objects.count() == 0


def test_a_beat_while_the_previous_one_still_runs_is_skipped(agent_environment: str) -> None:
    lock_path = Path(agent.identity_path()).with_name(agent.LOCK_FILE)
    with open(lock_path, "a") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        report = heartbeat(now=timezone.now())
        fcntl.flock(held, fcntl.LOCK_UN)

    assert report == BeatReport(BeatOutcome.SKIPPED, agent.ERR_BEAT_RUNNING)
    assert AgentNode.objects.count() == 0
    assert heartbeat(now=timezone.now()).outcome == BeatOutcome.IN_SYNC


def test_without_a_backend_url_the_heartbeat_does_nothing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("DAGYARD_BACKEND_URL", raising=False)

    assert heartbeat(now=timezone.now()).outcome == BeatOutcome.DISABLED


@pytest.mark.parametrize(
    "body",
    [
        b'{"error": {"status": 401, "code": "not_authenticated", '
        b'"message": "the API key is not valid", "fields": {}}}',
        b'{"error": "the API key is not valid"}',  # a backend older than the shared shape
    ],
)
def test_the_backends_refusal_is_read_in_either_error_shape(body: bytes) -> None:
    refusal = urllib.error.HTTPError(
        "http://backend.invalid/api/heartbeat", 401, "Unauthorized", Message(), io.BytesIO(body)
    )

    assert agent._error_text(refusal) == "the API key is not valid"
