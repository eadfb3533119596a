"""The seed's error table through the real worker: each failure is a clear message with what the
user can do, the half-made resources are listed, and deprovision removes them."""

from __future__ import annotations

import datetime as dt
import time

import pytest
from django.utils import timezone

from provisioning.cloud.errors import LEASE_FAILED_MESSAGE
from provisioning.models import Deployment, DeploymentStep
from provisioning.services.deployments import create_deployment
from provisioning.services.deprovision import deprovision
from provisioning.states import DeploymentState, Step, StepState
from tests.fakes.openstack_api import LeaseOutcome, ServerOutcome
from tests.provisioning.conftest import wait_for_deployment

pytestmark = pytest.mark.django_db(transaction=True)

LONG_AGO = dt.timedelta(hours=1)


def step_of(deployment: Deployment, step: Step) -> DeploymentStep:
    return deployment.steps.get(step=step)


def wait_for_step(deployment: Deployment, step: Step, state: StepState) -> None:
    wait_for_deployment(deployment, until=lambda d: step_of(d, step).state == state)


def move_the_clock_past_the_wait(deployment: Deployment, step: Step) -> None:
    """The wait counts from the step's first start; setting that an hour back is the clock
    moving on for the worker, which reads it from the database."""
    wait_for_step(deployment, step, StepState.WAITING)
    DeploymentStep.objects.filter(deployment=deployment, step=step).update(
        started_at=timezone.now() - LONG_AGO
    )


def assert_deprovision_removes_the_leftovers(cloud, deployment: Deployment) -> None:
    report = deprovision(name=deployment.name)
    assert len(report.removed) == len(deployment.leftovers)
    assert (cloud.servers, cloud.leases) == ({}, {})
    deployment.refresh_from_db()
    assert deployment.state == DeploymentState.DEPROVISIONED
    assert deployment.leftovers == []
    assert deprovision(name=deployment.name).summary == "nothing in the cloud to remove"


def test_no_free_node_walks_the_ladder_then_fails_clearly(provisioning_worker, cloud, ai, web_repo):
    cloud.lease_outcome = LeaseOutcome.NO_RESOURCES
    deployment = wait_for_deployment(create_deployment(repo_url=web_repo, name="site"))

    assert deployment.state == DeploymentState.FAILED
    attempts = deployment.plan["lease_attempts"]
    assert [(a["node_type"], a["hours"]) for a in attempts] == [
        ("compute_haswell", 24),
        ("compute_haswell", 12),
        ("compute_haswell", 6),
        ("compute_skylake", 24),
        ("compute_cascadelake_r640", 24),
        ("compute_cascadelake_384gb", 24),
        ("compute_icelake_r650", 24),
    ]
    assert {a["outcome"] for a in attempts} == {"no_resources"}
    assert all("(Not enough hosts available)" in a["answer"] for a in attempts)
    assert len(cloud.requests_to("POST", "/reservation/v1/leases")) == 7
    assert deployment.error.startswith(
        "No node was free for any of the 7 lease requests tried (compute_haswell for 24 h; "
    )
    assert deployment.advice == "Try a different node type, a different time, or a shorter lease."
    assert deployment.leftovers == []
    assert step_of(deployment, Step.CREATE_LEASE).state == StepState.FAILED
    assert step_of(deployment, Step.CREATE_SERVER).state == StepState.SKIPPED
    assert deprovision(name="site").summary == "nothing in the cloud to remove"


def test_a_named_node_type_is_not_swapped_for_a_sibling(provisioning_worker, cloud, ai, web_repo):
    cloud.lease_outcome = LeaseOutcome.NO_RESOURCES
    deployment = wait_for_deployment(
        create_deployment(repo_url=web_repo, name="site", node_type="compute_skylake")
    )
    assert deployment.state == DeploymentState.FAILED
    tried = [(a["node_type"], a["hours"]) for a in deployment.plan["lease_attempts"]]
    assert tried == [("compute_skylake", 24), ("compute_skylake", 12), ("compute_skylake", 6)]


def test_a_lease_in_error_fails_and_lists_the_lease(provisioning_worker, cloud, ai, web_repo):
    cloud.lease_outcome = LeaseOutcome.ERROR
    deployment = wait_for_deployment(create_deployment(repo_url=web_repo, name="site"))

    assert deployment.state == DeploymentState.FAILED
    assert deployment.error == LEASE_FAILED_MESSAGE.format(
        lease=deployment.lease_id, action="activated", detail="Blazar reports status ERROR"
    )
    assert deployment.advice.startswith("Retry in a few minutes")
    assert "`dagyard deprovision site`" in deployment.advice
    assert [item["kind"] for item in deployment.leftovers] == ["lease"]
    assert step_of(deployment, Step.WAIT_FOR_LEASE).state == StepState.FAILED
    assert_deprovision_removes_the_leftovers(cloud, deployment)


def test_a_lease_stuck_pending_times_out(provisioning_worker, cloud, ai, web_repo):
    cloud.lease_outcome = LeaseOutcome.STAYS_PENDING
    deployment = create_deployment(repo_url=web_repo, name="site")
    move_the_clock_past_the_wait(deployment, Step.WAIT_FOR_LEASE)
    deployment = wait_for_deployment(deployment)

    assert deployment.state == DeploymentState.FAILED
    assert f"The lease {deployment.lease_id} was still PENDING after 5 minutes." in (
        deployment.error
    )
    assert step_of(deployment, Step.WAIT_FOR_LEASE).attempts >= 2
    assert [item["kind"] for item in deployment.leftovers] == ["lease"]
    assert_deprovision_removes_the_leftovers(cloud, deployment)


def test_a_server_in_error_fails_with_its_fault(provisioning_worker, cloud, ai, web_repo):
    cloud.server_outcome = ServerOutcome.ERROR
    cloud.server_fault = "No valid host was found."
    deployment = wait_for_deployment(create_deployment(repo_url=web_repo, name="site"))

    assert deployment.state == DeploymentState.FAILED
    assert deployment.error == (
        f"The server {deployment.server_id} failed to start: No valid host was found. Check "
        "your project's quota, or retry with a different node type or image."
    )
    assert deployment.advice.startswith("Check the project's quota")
    assert [item["kind"] for item in deployment.leftovers] == ["server", "lease"]
    assert_deprovision_removes_the_leftovers(cloud, deployment)


def test_a_server_stuck_building_times_out(provisioning_worker, cloud, ai, web_repo):
    cloud.server_outcome = ServerOutcome.STAYS_BUILD
    deployment = create_deployment(repo_url=web_repo, name="site")
    move_the_clock_past_the_wait(deployment, Step.WAIT_FOR_SERVER)
    deployment = wait_for_deployment(deployment)

    assert deployment.state == DeploymentState.FAILED
    assert "was still BUILD after 30 minutes. Check its console log" in deployment.error
    assert deployment.advice.startswith("Check the server's console log")
    assert [item["kind"] for item in deployment.leftovers] == ["server", "lease"]
    assert_deprovision_removes_the_leftovers(cloud, deployment)


def test_no_floating_ip_left_is_a_warning_and_the_fixed_address_is_used(
    provisioning_worker, cloud, ai, web_repo
):
    cloud.floating_ip_capacity = 0
    deployment = wait_for_deployment(create_deployment(repo_url=web_repo, name="site"))

    assert deployment.state == DeploymentState.SUCCEEDED
    assert deployment.floating_ip == ""
    assert deployment.warnings[0].startswith("No floating IP is available")
    assert deployment.ssh_command == f"ssh ubuntu@{deployment.fixed_ip}"


def test_a_clone_that_fails_is_a_clear_failure_with_nothing_made(
    provisioning_worker, cloud, ai, tmp_path
):
    missing = (tmp_path / "nowhere").as_uri()
    deployment = wait_for_deployment(create_deployment(repo_url=missing, name="site"))

    assert deployment.state == DeploymentState.FAILED
    assert deployment.error.startswith(f"Could not clone {missing} after 2 attempts")
    assert deployment.advice == "Check the URL, or try a different repository."
    assert cloud.requests == []


def test_a_cloud_outage_is_tried_again_and_the_deployment_goes_on(
    provisioning_worker, cloud, ai, web_repo
):
    cloud.make_unavailable("GET", "/image/v2/images", times=2, status=502)
    cloud.make_unavailable("GET", r"/compute/v2\.1/servers/[^/]+", times=1, status=502)
    deployment = wait_for_deployment(create_deployment(repo_url=web_repo, name="site"))

    assert deployment.state == DeploymentState.SUCCEEDED, deployment.error
    assert step_of(deployment, Step.SELECT_IMAGE).attempts == 3
    assert len(cloud.requests_to("GET", "/image/v2/images")) == 3


def test_blazar_answering_5xx_while_the_lease_is_awaited_is_looked_at_again(
    provisioning_worker, cloud, ai, web_repo
):
    cloud.make_unavailable("GET", r"/reservation/v1/leases/[^/]+", times=2, status=503)
    deployment = wait_for_deployment(create_deployment(repo_url=web_repo, name="site"))

    assert deployment.state == DeploymentState.SUCCEEDED, deployment.error
    assert len(cloud.requests_to("GET", r"/reservation/v1/leases/[^/]+")) >= 3


def test_a_lasting_outage_fails_after_three_tries(provisioning_worker, cloud, ai, web_repo):
    cloud.make_unavailable("GET", "/image/v2/images", times=10, status=502)
    deployment = wait_for_deployment(create_deployment(repo_url=web_repo, name="site"))

    assert deployment.state == DeploymentState.FAILED
    assert deployment.error.startswith("The cloud could not be reached or refused the request")
    assert step_of(deployment, Step.SELECT_IMAGE).attempts == 3
    assert len(cloud.requests_to("GET", "/image/v2/images")) == 3


def test_deprovision_while_the_server_builds_stops_the_pipeline_and_removes_everything(
    provisioning_worker, cloud, ai, web_repo
):
    cloud.server_outcome = ServerOutcome.STAYS_BUILD
    deployment = create_deployment(repo_url=web_repo, name="site")
    wait_for_step(deployment, Step.WAIT_FOR_SERVER, StepState.WAITING)

    report = deprovision(name="site")

    assert [what.split()[0] for what in report.removed] == ["server", "lease"]
    deployment.refresh_from_db()
    assert deployment.state == DeploymentState.DEPROVISIONED
    assert step_of(deployment, Step.WAIT_FOR_SERVER).state == StepState.SKIPPED
    assert step_of(deployment, Step.FLOATING_IP).state == StepState.SKIPPED
    seen = len(cloud.requests)
    time.sleep(1)  # several poll intervals: a pipeline still going would look at the server
    assert len(cloud.requests) == seen
    assert (cloud.servers, cloud.leases) == ({}, {})


def test_the_resume_task_is_declared_to_run_every_minute():
    from orchestrator.periodic import declared

    found = {item.task: item.every_seconds for item in declared()}
    assert found["provisioning.resume_stalled"] == 60
