"""Shared fixtures: a real Celery worker process on the session's real Redis and database, and
REST API clients authenticated as a user of each role."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote

import pytest
from django.conf import settings

if TYPE_CHECKING:
    from django.contrib.auth.models import User

REPO_ROOT = Path(__file__).resolve().parent.parent
WORKER_START_TIMEOUT = 60.0


def database_url_of(settings_dict: dict) -> str:
    """An address for the database this test session really uses (the test database)."""
    if settings_dict["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{settings_dict['NAME']}"
    user = quote(settings_dict.get("USER") or "")
    password = settings_dict.get("PASSWORD")
    credentials = f"{user}:{quote(password)}@" if password else (f"{user}@" if user else "")
    host = settings_dict.get("HOST") or "localhost"
    port = f":{settings_dict['PORT']}" if settings_dict.get("PORT") else ""
    return f"postgres://{credentials}{host}{port}/{settings_dict['NAME']}"


def process_environment(**overrides: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(overrides)
    env["PYTHONUNBUFFERED"] = "1"
    return env


@dataclass
class WorkerProcess:
    hostname: str
    process: subprocess.Popen
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def start_worker(
    *, database_url: str, log_path: Path, queues: tuple[str, ...], concurrency: int = 2
) -> WorkerProcess:
    """A worker exactly as a deployment runs it: its own process, the real broker."""
    from orchestrator.celery import app

    hostname = f"test-{uuid.uuid4().hex[:8]}@localhost"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [
                sys.executable, "-m", "celery", "-A", "orchestrator", "worker",
                "--hostname", hostname,
                "--queues", ",".join(queues),
                "--concurrency", str(concurrency),
                "--loglevel", "INFO",
                "--without-gossip", "--without-mingle", "--without-heartbeat",
            ],
            cwd=REPO_ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=process_environment(DATABASE_URL=database_url),
            start_new_session=True,
        )  # fmt: skip
    worker = WorkerProcess(hostname, process, log_path)
    deadline = time.monotonic() + WORKER_START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the test worker exited at start:\n{worker.log()}")
        if app.control.ping(destination=[hostname], timeout=0.5):
            return worker
    stop_worker(worker)
    raise RuntimeError(f"the test worker did not answer within {WORKER_START_TIMEOUT} s")


def stop_worker(worker: WorkerProcess, timeout: float = 20.0) -> None:
    if worker.process.poll() is None:
        worker.process.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            worker.process.wait(timeout)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(worker.process.pid, signal.SIGKILL)
    worker.process.wait()


@pytest.fixture(scope="session")
def test_database_url(django_db_setup, django_db_blocker) -> str:
    from django.db import connection

    return database_url_of(connection.settings_dict)


@pytest.fixture(scope="session")
def celery_worker(test_database_url: str, tmp_path_factory) -> Iterator[WorkerProcess]:
    """One worker for the session, consuming every queue. Tests that use it need committed
    rows: mark them `django_db(transaction=True)`."""
    log_path = tmp_path_factory.mktemp("worker") / "worker.log"
    worker = start_worker(
        database_url=test_database_url, log_path=log_path, queues=settings.TASK_QUEUES
    )
    yield worker
    stop_worker(worker)


ROLES = ("anonymous", "viewer", "operator", "admin")


def user_in(role: str) -> User:
    """A user named after its role, in that role's group."""
    from django.contrib.auth.models import Group, User

    user = User.objects.create_user(username=role, password="a long test password")
    user.groups.add(Group.objects.get_or_create(name=role)[0])
    return user


@pytest.fixture
def client_as():
    """`client_as(role)`: an API client authenticated with that role's own API token
    ("anonymous": none). The page tests have their own, logged in through the session."""
    from rest_framework.test import APIClient

    from orchestrator.models import ApiToken

    def make(role: str) -> APIClient:
        client = APIClient()
        if role != "anonymous":
            _token, text = ApiToken.issue(user=user_in(role), name="tests")
            client.credentials(HTTP_AUTHORIZATION=f"Token {text}")
        return client

    return make
