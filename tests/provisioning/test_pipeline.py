"""The whole pipeline through a real worker, against the OpenStack and OpenAI stand-ins."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from provisioning.models import Deployment
from provisioning.services.deployments import create_deployment
from provisioning.services.deprovision import deprovision
from provisioning.states import DeploymentState, Step, StepState
from tests.provisioning.conftest import wait_for_deployment

pytestmark = pytest.mark.django_db(transaction=True)

GOOD_ANSWERS = [
    {
        "cpu_cores": 8,
        "ram_gb": 32,
        "gpu_required": True,
        "gpu_memory_gb": 12,
        "disk_gb": 80,
        "os_type": "ubuntu",
        "os_version": "22.04",
        "cuda_required": True,
        "python_version": "3.11",
        "reasoning": "torch in requirements.txt",
    },
    {
        "candidates": ["CC-Ubuntu22.04-CUDA", "CC-Ubuntu20.04-CUDA", "CC-Ubuntu22.04"],
        "reasoning": "CUDA images for Ubuntu",
    },
    {"selected_image": "CC-Ubuntu22.04-CUDA", "reasoning": "the newest CUDA image"},
    {"duration_hours": 12, "reasoning": "a short training run"},
]
INFO_KEYS = {
    "server_name",
    "server_id",
    "lease_id",
    "reservation_id",
    "floating_ip",
    "fixed_ip",
    "image_name",
    "image_id",
    "node_type",
    "key_name",
    "network_id",
}


def test_a_deployment_runs_every_step_and_ends_with_the_ssh_command(
    provisioning_worker, cloud, ai, torch_repo
):
    for answer in GOOD_ANSWERS:
        ai.answer_json(answer)
    deployment = wait_for_deployment(create_deployment(repo_url=torch_repo, name="trainer"))

    assert deployment.state == DeploymentState.SUCCEEDED, deployment.error
    steps = list(deployment.steps.order_by("position"))
    assert [s.step for s in steps] == [step.value for step in Step]
    assert {s.state for s in steps} == {StepState.SUCCEEDED}
    assert all(s.started_at and s.finished_at and s.message for s in steps)
    # The lease went PENDING -> ACTIVE and the server BUILD -> ACTIVE through retries.
    assert steps[6].attempts >= 2
    assert steps[8].attempts >= 2

    decisions = deployment.plan["decisions"]
    sources = {name: record["source"] for name, record in decisions.items()}
    assert sources == {
        "requirements": "model",
        "image_shortlist": "model",
        "image": "model",
        "node_type": "rules",
        "lease_duration": "model",
    }
    assert decisions["lease_duration"]["reasoning"] == "a short training run"
    assert deployment.plan["fallback_reasons"] == []
    # 12 GB of GPU memory: the tree's RTX 5000 branch.
    assert deployment.node_type == "gpu_rtx_5000"
    assert deployment.image_name == "CC-Ubuntu22.04-CUDA"

    lease = cloud.requests_to("POST", "/reservation/v1/leases")[0].body
    assert json.loads(lease["reservations"][0]["resource_properties"]) == [
        "==",
        "$node_type",
        "gpu_rtx_5000",
    ]
    server = cloud.servers[deployment.server_id]
    assert server["scheduler_hints"] == {"reservation": deployment.reservation_id}
    assert deployment.floating_ip.startswith("192.5.87.")
    assert deployment.ssh_command == f"ssh ubuntu@{deployment.floating_ip}"

    info_path = Path(deployment.info_path)
    assert info_path.name == "trainer_info.json"
    info = json.loads(info_path.read_text())
    assert set(info) >= INFO_KEYS
    assert all(info[key] for key in INFO_KEYS)
    assert info == deployment.info
    assert info["server_id"] == deployment.server_id
    assert info["image_id"] == deployment.image_id


@pytest.mark.parametrize(
    ("script", "reason"),
    [
        (lambda ai: ai.answer_text("Sure! Here is what I think...", times=4), "not usable"),
        (lambda ai: ai.hang(seconds=3, times=4), "did not answer within 1 s"),
        (lambda ai: ai.rate_limit(times=4), "rate-limiting requests (HTTP 429)"),
    ],
    ids=["garbage", "timeout", "rate-limit"],
)
def test_a_model_that_fails_leaves_every_decision_to_the_rules_and_says_why(
    provisioning_worker, cloud, ai, torch_repo, script, reason
):
    script(ai)
    deployment = wait_for_deployment(create_deployment(repo_url=torch_repo, name="trainer"))

    assert deployment.state == DeploymentState.SUCCEEDED, deployment.error
    decisions = deployment.plan["decisions"]
    asked = ("requirements", "image_shortlist", "image", "lease_duration")
    for name in asked:
        assert decisions[name]["source"] == "rules"
        assert reason in decisions[name]["fallback_reason"]
    assert len(deployment.plan["fallback_reasons"]) == 4
    # The rules: torch means a GPU, the default 24 hours, the CUDA image of the tree.
    assert deployment.plan["requirements"]["gpu_required"] is True
    assert deployment.plan["duration_hours"] == 24
    assert deployment.image_name == "CC-Ubuntu22.04-CUDA"
    assert deployment.node_type == "gpu_rtx_5000"


def test_a_dry_run_plans_and_touches_no_cloud(provisioning_worker, cloud, ai, web_repo):
    deployment = wait_for_deployment(
        create_deployment(repo_url=web_repo, name="site", dry_run=True)
    )

    assert deployment.state == DeploymentState.PLANNED
    assert cloud.requests == []
    plan = deployment.plan
    assert plan["requirements"]["gpu_required"] is False
    assert plan["image"]["name"] == "CC-Ubuntu22.04"
    assert "asks the cloud nothing" in plan["image"]["offered"]
    assert plan["node_type"] == "compute_haswell"
    assert plan["duration_hours"] == 24
    assert set(plan["lease_window"]) == {"start", "end", "timezone"}
    assert list(deployment.steps.values_list("step", "state")) == [
        ("analyse_repository", "succeeded"),
        ("select_image", "succeeded"),
        ("plan_lease", "succeeded"),
    ]
    assert (deployment.lease_id, deployment.server_id) == ("", "")


def test_without_cloud_credentials_a_deployment_is_a_dry_run(monkeypatch, cloud, web_repo):
    for name in ("OS_AUTH_URL", "OS_CLOUD"):
        monkeypatch.delenv(name, raising=False)
    deployment = create_deployment(repo_url=web_repo, name="site")
    assert deployment.dry_run is True
    assert list(deployment.steps.values_list("step", flat=True)) == [
        "analyse_repository",
        "select_image",
        "plan_lease",
    ]


def test_a_busy_cloud_gets_a_shorter_lease_and_every_attempt_is_recorded(
    provisioning_worker, cloud, ai, web_repo
):
    cloud.longest_free_lease_hours = 6
    deployment = wait_for_deployment(create_deployment(repo_url=web_repo, name="site"))

    assert deployment.state == DeploymentState.SUCCEEDED, deployment.error
    attempts = deployment.plan["lease_attempts"]
    assert [(a["node_type"], a["hours"], a["outcome"]) for a in attempts] == [
        ("compute_haswell", 24, "no_resources"),
        ("compute_haswell", 12, "no_resources"),
        ("compute_haswell", 6, "created"),
    ]
    assert "Not enough hosts available" in attempts[0]["answer"]
    assert deployment.plan["duration_hours"] == 6
    assert len(cloud.leases) == 1


def test_deprovision_removes_server_then_floating_ip_then_lease_and_is_idempotent(
    provisioning_worker, cloud, ai, web_repo
):
    deployment = wait_for_deployment(create_deployment(repo_url=web_repo, name="site"))
    assert deployment.state == DeploymentState.SUCCEEDED, deployment.error
    before = len(cloud.requests)

    report = deprovision(name="site")

    assert report.removed == [
        f"server {deployment.server_id}",
        f"floating IP {deployment.floating_ip}",
        f"lease {deployment.lease_id}",
    ]
    deletes = [r.path.split("/")[-2] for r in cloud.requests[before:] if r.method == "DELETE"]
    assert deletes == ["servers", "floatingips", "leases"]
    assert (cloud.servers, cloud.floating_ips, cloud.leases) == ({}, {}, {})
    deployment.refresh_from_db()
    assert deployment.state == DeploymentState.DEPROVISIONED
    assert deployment.info["server_id"]  # the record keeps the history

    again = deprovision(name="site")
    assert again.summary == "nothing in the cloud to remove"
    assert Deployment.objects.get(name="site").state == DeploymentState.DEPROVISIONED
