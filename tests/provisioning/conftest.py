"""Fixtures for the deployment pipeline: one OpenStack and one OpenAI stand-in for the session,
reset before each test, and a real worker process whose environment points at them.

The worker consumes a queue of its own (``DAGYARD_PROVISIONING_QUEUE``), so the session's shared
worker, whose environment knows no stand-in, never takes a provisioning task.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import git
import pytest

from provisioning.models import Deployment
from provisioning.states import DEPLOYMENT_FINISHED
from tests.conftest import WorkerProcess, start_worker, stop_worker
from tests.fakes import openstack_api
from tests.fakes.openai_api import FakeOpenAI
from tests.fakes.openstack_api import FakeOpenStack

TEST_QUEUE = "provisioning-tests"
API_KEY = "sk-test-key-7f3a9c2e5d"
PUBLIC_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIdagyardtests tests@dagyard"
DEPLOYMENT_TIMEOUT = 60.0

TORCH_PROJECT = {
    "requirements.txt": "torch==2.3.0\nnumpy>=1.26\n",
    "README.md": "# Trainer\nTrains a small model on a GPU.\n",
}
WEB_PROJECT = {
    "requirements.txt": "django>=5.2\ngunicorn\n",
    "pyproject.toml": '[project]\nname = "site"\nrequires-python = ">=3.11"\n',
}


def make_repository(root: Path, files: dict[str, str]) -> str:
    """A committed repository holding ``files``; returns its file:// URL."""
    root.mkdir(parents=True)
    repo = git.Repo.init(root)
    for name, text in files.items():
        (root / name).write_text(text)
    repo.index.add(list(files))
    actor = git.Actor("Dagyard Tests", "tests@dagyard.invalid")
    repo.index.commit("sample project", author=actor, committer=actor)
    repo.close()
    return root.as_uri()


@pytest.fixture
def torch_repo(tmp_path: Path) -> str:
    return make_repository(tmp_path / "trainer", TORCH_PROJECT)


@pytest.fixture
def web_repo(tmp_path: Path) -> str:
    return make_repository(tmp_path / "site", WEB_PROJECT)


@pytest.fixture(scope="session")
def shared_cloud() -> Iterator[FakeOpenStack]:
    with FakeOpenStack() as cloud:
        yield cloud


@pytest.fixture(scope="session")
def shared_ai() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as ai:
        yield ai


@pytest.fixture(scope="session")
def provisioning_env(
    shared_cloud: FakeOpenStack, shared_ai: FakeOpenAI, tmp_path_factory
) -> Iterator[dict[str, str]]:
    """The environment of a worker that holds cloud and model credentials (the stand-ins')."""
    folder = tmp_path_factory.mktemp("provisioning")
    public_key = folder / "id_ed25519.pub"
    public_key.write_text(PUBLIC_KEY + "\n")
    values = {
        "OS_AUTH_URL": shared_cloud.auth_url,
        "OS_USERNAME": openstack_api.USERNAME,
        "OS_PASSWORD": openstack_api.PASSWORD,
        "OS_PROJECT_NAME": openstack_api.PROJECT,
        "OS_REGION_NAME": openstack_api.REGION,
        "OPENAI_BASE_URL": shared_ai.base_url,
        "OPENAI_API_KEY": API_KEY,
        "DAGYARD_AI_MODEL": "fake-model",
        "DAGYARD_AI_MAX_RETRIES": "0",
        "DAGYARD_AI_TIMEOUT_SECONDS": "1",
        "DAGYARD_LEASE_POLL_SECONDS": "0.1",
        "DAGYARD_SERVER_POLL_SECONDS": "0.1",
        "DAGYARD_CLOUD_RETRY_SECONDS": "0.2",
        "DAGYARD_PROVISIONING_QUEUE": TEST_QUEUE,
        "DAGYARD_DEPLOYMENTS_DIR": str(folder / "deployments"),
        "DAGYARD_OS_PUBLIC_KEY": str(public_key),
    }
    with pytest.MonkeyPatch.context() as patch:
        for name, value in values.items():
            patch.setenv(name, value)
        yield values


@pytest.fixture(scope="session")
def provisioning_worker(
    provisioning_env: dict[str, str], test_database_url: str, tmp_path_factory
) -> Iterator[WorkerProcess]:
    worker = start_worker(
        database_url=test_database_url,
        log_path=tmp_path_factory.mktemp("provisioning-worker") / "worker.log",
        queues=(TEST_QUEUE,),
    )
    yield worker
    stop_worker(worker)


@pytest.fixture
def cloud(shared_cloud: FakeOpenStack, provisioning_env) -> FakeOpenStack:
    shared_cloud.reset()
    return shared_cloud


@pytest.fixture
def ai(shared_ai: FakeOpenAI, provisioning_env) -> FakeOpenAI:
    shared_ai.reset()
    return shared_ai


def wait_for_deployment(
    deployment: Deployment,
    *,
    timeout: float = DEPLOYMENT_TIMEOUT,
    until: Callable[[Deployment], bool] = lambda d: d.state in DEPLOYMENT_FINISHED,
) -> Deployment:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        deployment.refresh_from_db()
        if until(deployment):
            return deployment
        time.sleep(0.05)
    steps = list(deployment.steps.values_list("step", "state", "message"))
    raise AssertionError(f"{deployment.name} still {deployment.state} after {timeout}s: {steps}")


def kill_worker(worker: WorkerProcess) -> None:
    """Kill the worker's whole process group at once, as a crash or an OOM kill would."""
    os.killpg(worker.process.pid, signal.SIGKILL)
    worker.process.wait()
