"""Two Dagyard installations on loopback: a backend in its own process, and this one as agent.

The backend has its own data directory and database; it is driven only through its commands and
its HTTP API, as an operator would. The agent is this test process, whose database is the test's.
"""

from __future__ import annotations

import contextlib
import json
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from autoscaler.models import Pool
from autoscaler.services.agent import BeatOutcome, heartbeat
from autoscaler.services.pools import evaluate_pool
from tests.conftest import process_environment

pytestmark = [pytest.mark.slow, pytest.mark.django_db]

REPO_ROOT = Path(__file__).resolve().parents[2]
START_SECONDS = 60.0

AGENT_CONFIG = (
    "pools:\n"
    "  - name: batch\n"
    "    provider: local\n"
    "    instance_pool_id: batch-{suffix}\n"
    "    monitoring_method: local\n"
    "    cpu_threshold: 100\n"
    "    ram_threshold: 100\n"
    "    scaling_limits: {{min: 0, max: 0}}\n"
    "    paused: {paused}\n"
)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Backend:
    directory: Path
    port: int
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def environment(self) -> dict[str, str]:
        env = process_environment(
            DAGYARD_DATA_DIR=str(self.directory),
            DATABASE_URL=f"sqlite:///{self.directory / 'backend.sqlite3'}",
        )
        env.pop("DAGYARD_BACKEND_URL", None)
        return env

    def command(self, *args: str) -> str:
        result = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=REPO_ROOT, env=self.environment(), capture_output=True, text=True, check=False,
        )  # fmt: skip
        if result.returncode != 0:
            raise AssertionError(f"manage.py {' '.join(args)} failed:\n{result.stderr}")
        return result.stdout

    def start(self) -> None:
        log = open(self.directory / "web.log", "ab")  # noqa: SIM115 - the process owns it
        self.process = subprocess.Popen(
            [sys.executable, "manage.py", "runserver", f"127.0.0.1:{self.port}", "--noreload"],
            cwd=REPO_ROOT, env=self.environment(), stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        log.close()
        deadline = time.monotonic() + START_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError((self.directory / "web.log").read_text())
            with (
                contextlib.suppress(OSError),
                urllib.request.urlopen(f"{self.url}/healthz", timeout=1) as answer,  # noqa: S310
            ):
                if answer.status == 200:
                    return
            time.sleep(0.2)
        raise AssertionError("the backend did not start in time")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None


@pytest.fixture
def backend(tmp_path: Path) -> Iterator[Backend]:
    directory = tmp_path / "backend"
    directory.mkdir()
    server = Backend(directory=directory, port=free_port())
    server.command("migrate", "--noinput", "-v", "0")
    server.start()
    try:
        yield server
    finally:
        server.stop()


def test_a_config_changed_on_the_backend_changes_the_agents_scaling_and_an_outage_is_survived(
    backend: Backend, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, settings: Any
) -> None:
    settings.DATA_DIR = tmp_path / "agent"
    token = backend.command("nodes", "enroll-token", "--note", "agent").strip()
    monkeypatch.setenv("DAGYARD_BACKEND_URL", backend.url)
    monkeypatch.setenv("DAGYARD_ENROLL_TOKEN", token)
    monkeypatch.setenv("DAGYARD_NODE_NAME", "agent-on-loopback")

    registered = heartbeat(now=timezone.now())
    [node] = json.loads(backend.command("nodes", "list", "--json"))

    assert registered.outcome == BeatOutcome.IN_SYNC
    assert (node["id"], node["name"], node["liveness"]) == (
        registered.node_id, "agent-on-loopback", "online",
    )  # fmt: skip

    suffix = tmp_path.name[-8:]
    running = tmp_path / "running.yaml"
    running.write_text(AGENT_CONFIG.format(suffix=suffix, paused="false"))
    backend.command("nodes", "set-config", str(node["id"]), str(running))
    applied = heartbeat(now=timezone.now())
    measured = evaluate_pool(Pool.objects.get(name="batch"), now=timezone.now(), dry_run=True)

    assert applied.outcome == BeatOutcome.CONFIG_APPLIED
    assert measured.outcome in {"at_limit", "no_action"}

    paused = tmp_path / "paused.yaml"
    paused.write_text(AGENT_CONFIG.format(suffix=suffix, paused="true"))
    backend.command("nodes", "set-config", str(node["id"]), str(paused))
    heartbeat(now=timezone.now())
    held = evaluate_pool(Pool.objects.get(name="batch"), now=timezone.now(), dry_run=True)

    assert held.outcome == "paused"

    backend.stop()
    during_outage = heartbeat(now=timezone.now())
    still_paused = evaluate_pool(Pool.objects.get(name="batch"), now=timezone.now(), dry_run=True)
    backend.start()
    after_outage = heartbeat(now=timezone.now())
    [node_after] = json.loads(backend.command("nodes", "list", "--json"))

    assert during_outage.outcome == BeatOutcome.BACKEND_UNAVAILABLE
    assert during_outage.detail.startswith(f"backend {backend.url} POST heartbeat failed: ")
    assert still_paused.outcome == "paused"
    assert after_outage.outcome == BeatOutcome.IN_SYNC
    assert node_after["config_in_sync"] is True
