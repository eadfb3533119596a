"""A pipeline whose worker is killed continues on another without redoing finished steps; and
no secret reaches the database, the info file, the worker's log or a page."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.utils import timezone

from provisioning.models import Deployment, DeploymentStep
from provisioning.services.deployments import create_deployment, resume_stalled
from provisioning.states import DeploymentState, Step, StepState
from tests.conftest import start_worker, stop_worker
from tests.fakes.openstack_api import PASSWORD
from tests.provisioning.conftest import (
    API_KEY,
    kill_worker,
    wait_for_deployment,
)
from tests.provisioning.test_pipeline import GOOD_ANSWERS

pytestmark = pytest.mark.django_db(transaction=True)

RESUME_QUEUE = "provisioning-resume-tests"


def cloud_counts(cloud, ai) -> dict[str, int]:
    return {
        "create lease": len(cloud.requests_to("POST", "/reservation/v1/leases")),
        "create server": len(cloud.requests_to("POST", r"/compute/v2\.1/servers")),
        "import key": len(cloud.requests_to("POST", r"/compute/v2\.1/os-keypairs")),
        "list images": len(cloud.requests_to("GET", "/image/v2/images")),
        "find network": len(
            [
                r
                for r in cloud.requests_to("GET", r"/network/v2\.0/networks")
                if r.query.get("name") == "sharednet1"
            ]
        ),
        "model calls": len(ai.requests),
    }


def test_a_pipeline_resumes_after_its_worker_is_killed_without_redoing_steps(
    monkeypatch, cloud, ai, web_repo, test_database_url, tmp_path
):
    monkeypatch.setenv("DAGYARD_PROVISIONING_QUEUE", RESUME_QUEUE)
    cloud.server_gets_until_active = 10**9  # the server builds until the test says otherwise
    first = start_worker(
        database_url=test_database_url, log_path=tmp_path / "first.log", queues=(RESUME_QUEUE,)
    )
    try:
        deployment = create_deployment(repo_url=web_repo, name="site")
        wait_for_deployment(
            deployment,
            until=lambda d: d.steps.get(step=Step.WAIT_FOR_SERVER).state == StepState.WAITING,
        )
    finally:
        kill_worker(first)
    before = cloud_counts(cloud, ai)
    finished = dict(
        DeploymentStep.objects.filter(deployment=deployment, state=StepState.SUCCEEDED).values_list(
            "step", "attempts"
        )
    )
    assert list(finished) == [s.value for s in list(Step)[:8]]
    # Each step ran once (the lease's wait counts its looks).
    assert {n for step, n in finished.items() if step != Step.WAIT_FOR_LEASE} == {1}

    cloud.server_gets_until_active = 1
    second = start_worker(
        database_url=test_database_url, log_path=tmp_path / "second.log", queues=(RESUME_QUEUE,)
    )
    try:
        # What the periodic task does once the deployment has had no sign of a worker for long.
        assert resume_stalled(now=timezone.now() + dt.timedelta(hours=1)) == ["site"]
        deployment = wait_for_deployment(deployment)
    finally:
        stop_worker(second)

    assert deployment.state == DeploymentState.SUCCEEDED, deployment.error
    assert cloud_counts(cloud, ai) == before
    assert before["create lease"] == before["create server"] == 1
    for step, attempts in finished.items():
        assert deployment.steps.get(step=step).attempts == attempts
    assert len(cloud.servers) == len(cloud.leases) == 1


def test_a_resumed_step_adopts_a_lease_made_before_its_worker_died(
    provisioning_worker, cloud, ai, web_repo
):
    """A worker killed between creating the lease and recording it: the lease exists in the
    cloud under the deployment's name, and the step keeps it instead of reserving another."""
    from provisioning.cloud.openstack import create_lease

    conn = cloud.connect()
    try:
        made = create_lease(
            conn, name="dagyard-site", node_type="compute_haswell", duration_hours=24
        )
    finally:
        conn.close()
    deployment = wait_for_deployment(create_deployment(repo_url=web_repo, name="site"))

    assert deployment.state == DeploymentState.SUCCEEDED, deployment.error
    assert deployment.lease_id == made.id
    assert len(cloud.requests_to("POST", "/reservation/v1/leases")) == 1
    assert "found and kept" in deployment.steps.get(step=Step.CREATE_LEASE).message


def everything_stored() -> str:
    rows = [*Deployment.objects.values(), *DeploymentStep.objects.values()]
    return json.dumps(rows, default=str)


def test_no_secret_reaches_the_database_the_info_file_the_log_or_a_page(
    provisioning_worker, cloud, ai, torch_repo, client
):
    for answer in GOOD_ANSWERS:
        ai.answer_json(answer)
    deployment = wait_for_deployment(create_deployment(repo_url=torch_repo, name="trainer"))
    assert deployment.state == DeploymentState.SUCCEEDED, deployment.error
    assert ai.requests[0].authorization == f"Bearer {API_KEY}"  # the key was really used
    token_url = "https://someone:s3cret-token-41@example.invalid/private.git"
    leaky = wait_for_deployment(create_deployment(repo_url=token_url, name="private"))
    assert leaky.repo_url == "https://example.invalid/private.git"
    assert leaky.state == DeploymentState.FAILED

    viewer = get_user_model().objects.create_user("viewer", password="pw-not-a-secret-9")
    viewer.groups.add(Group.objects.get_or_create(name="viewer")[0])
    client.force_login(viewer)
    pages = "".join(
        client.get(path).content.decode()
        for path in (
            "/deployments/",
            "/deployments/trainer/",
            "/deployments/private/",
            "/api/deployments/trainer/",
        )  # fmt: skip
    )
    assert "trainer" in pages
    assert deployment.ssh_command in pages
    texts = {
        "database": everything_stored(),
        "info file": Path(deployment.info_path).read_text(),
        "worker log": provisioning_worker.log(),
        "pages": pages,
    }
    for where, text in texts.items():
        for secret in (PASSWORD, API_KEY, "s3cret-token-41"):
            assert secret not in text, f"{secret} found in the {where}"
