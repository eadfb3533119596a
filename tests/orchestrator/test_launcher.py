"""`dagyard up` as a user runs it: a real process tree on the embedded defaults."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psutil
import pytest

from orchestrator.launcher.ports import free_port
from tests.conftest import REPO_ROOT

pytestmark = pytest.mark.slow

READY_TIMEOUT = 90.0


def clean_environment(data_dir: Path) -> dict[str, str]:
    """The embedded defaults: no REDIS_URL, no DATABASE_URL, a data directory of its own."""
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DATABASE_URL")}
    env["DAGYARD_DATA_DIR"] = str(data_dir)
    env["PYTHONUNBUFFERED"] = "1"
    return env


class Launcher:
    def __init__(self, data_dir: Path, *args: str) -> None:
        self.data_dir = data_dir
        self.output_path = data_dir.parent / f"up-{time.monotonic_ns()}.out"
        self.output = open(self.output_path, "w")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "orchestrator.cli", "up", *args],
            cwd=REPO_ROOT,
            env=clean_environment(data_dir),
            stdout=self.output,
            stderr=subprocess.STDOUT,
        )

    def text(self) -> str:
        return self.output_path.read_text()

    def wait_for(self, phrase: str, timeout: float = READY_TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if phrase in self.text():
                return
            if self.process.poll() is not None:
                raise AssertionError(f"dagyard up exited early:\n{self.text()}")
            time.sleep(0.1)
        raise AssertionError(f"{phrase!r} not printed within {timeout} s:\n{self.text()}")

    def descendants(self) -> list[psutil.Process]:
        return psutil.Process(self.process.pid).children(recursive=True)

    def stop(self, signum: int = signal.SIGTERM) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signum)
        code = self.process.wait(60)
        self.output.close()
        return code


@contextmanager
def launched(data_dir: Path, *args: str) -> Iterator[Launcher]:
    launcher = Launcher(data_dir, *args)
    try:
        launcher.wait_for("Press Ctrl-C to stop.")
        yield launcher
    finally:
        if launcher.process.poll() is None:
            launcher.stop(signal.SIGKILL)


def dagyard(data_dir: Path, *args: str) -> subprocess.CompletedProcess:
    """Another terminal: only DAGYARD_DATA_DIR tells it where the running system is."""
    return subprocess.run(
        [sys.executable, "-m", "orchestrator.cli", *args],
        cwd=REPO_ROOT, env=clean_environment(data_dir), capture_output=True, text=True, timeout=90,
    )  # fmt: skip


def alive(process: psutil.Process) -> bool:
    try:
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def test_up_serves_health_answers_doctor_and_leaves_no_process_after_sigterm(tmp_path):
    data_dir = tmp_path / "data"
    port = free_port()
    with launched(data_dir, "--port", str(port)) as launcher:
        summary = launcher.text()
        assert f"web       http://127.0.0.1:{port}/" in summary
        assert "admin     admin / " in summary
        assert f"logs      {data_dir / 'logs'}" in summary

        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as answer:
            assert answer.status == 200
            assert json.loads(answer.read())["status"] == "ok"

        doctor = dagyard(data_dir, "doctor", "--json")
        assert doctor.returncode == 0, doctor.stdout + doctor.stderr
        report = json.loads(doctor.stdout)
        assert report["broker"]["source"] == "embedded"
        assert "***" in report["broker"]["target"]
        assert list(report["workers"]) == [f"worker1@{os.uname().nodename}"]
        assert report["probe"]["ok"] is True
        assert report["database"]["target"] == f"sqlite {data_dir / 'db.sqlite3'}"

        runtime = json.loads((data_dir / "runtime.json").read_text())
        assert runtime["pid"] == launcher.process.pid
        assert (data_dir / "runtime.json").stat().st_mode & 0o077 == 0

        second = dagyard(data_dir, "up", "--port", str(free_port()))
        assert second.returncode != 0
        assert f"Dagyard is already running from {data_dir} (pid {launcher.process.pid}" in (
            second.stderr
        )

        family = launcher.descendants()
        names = " ".join(" ".join(p.cmdline()) for p in family)
        assert "redis-server" in names
        assert "gunicorn" in names
        assert " beat " in names
        assert " worker " in names

        assert launcher.stop(signal.SIGTERM) == 0
    left = [p for p in family if alive(p)]
    assert left == [], [p.cmdline() for p in left]
    assert not (data_dir / "runtime.json").exists()
    assert "Stopping Dagyard..." in launcher.text()


def test_second_start_reuses_the_database_and_a_crashed_worker_is_restarted(tmp_path):
    data_dir = tmp_path / "data"
    with launched(data_dir, "--no-web", "--no-beat") as first:
        assert "admin     admin / " in first.text()
        assert "web " not in first.text()
        first.stop()

    with launched(data_dir, "--no-web", "--no-beat", "--workers", "2") as again:
        assert "admin     admin" not in again.text(), "the one-time password is shown once only"
        doctor = json.loads(dagyard(data_dir, "doctor", "--json").stdout)
        assert len(doctor["workers"]) == 2

        worker = next(p for p in again.descendants() if "worker1@" in " ".join(p.cmdline()))
        worker.kill()
        again.wait_for("worker-1 exited with code -9; restarting in 1 s")
        deadline = time.monotonic() + READY_TIMEOUT
        while time.monotonic() < deadline:
            report = json.loads(dagyard(data_dir, "doctor", "--json").stdout)
            if len(report["workers"]) == 2 and report["ok"]:
                break
        else:
            raise AssertionError("the restarted worker never answered")
        assert again.stop(signal.SIGINT) == 0


@pytest.mark.skipif(shutil.which("redis-server") is None, reason="no redis-server on PATH")
def test_up_can_embed_the_redis_server_found_on_path(tmp_path):
    data_dir = tmp_path / "data"
    with launched(data_dir, "--no-web", "--no-beat", "--redis-server", "redis-server") as up:
        assert shutil.which("redis-server") in up.text()
        report = json.loads(dagyard(data_dir, "doctor", "--json").stdout)
        version = (
            subprocess.run(
                ["redis-server", "--version"], capture_output=True, text=True, check=True
            )
            .stdout.split("v=")[1]
            .split()[0]
        )
        assert report["broker"]["detail"] == f"answers (Redis {version})"
        assert up.stop() == 0
