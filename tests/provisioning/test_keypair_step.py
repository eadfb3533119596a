"""The key pair step, run in the test's process against the OpenStack stand-in."""

from __future__ import annotations

import stat

import pytest

from provisioning.services import steps
from provisioning.services.deployments import create_deployment
from provisioning.services.pipeline import HANDLERS
from provisioning.states import Step, StepState

pytestmark = pytest.mark.django_db


@pytest.fixture
def own_key(monkeypatch, provisioning_env, tmp_path):
    monkeypatch.delenv("DAGYARD_OS_PUBLIC_KEY")
    monkeypatch.setenv("DAGYARD_OS_PRIVATE_KEY", str(tmp_path / "keys" / "dagyard"))
    monkeypatch.setenv("DAGYARD_PROVISIONING_QUEUE", "provisioning-unread")
    return tmp_path / "keys" / "dagyard"


def run_keypair_step(name: str) -> str:
    deployment = create_deployment(repo_url="https://example.org/x.git", name=name, dry_run=False)
    steps.run_step(deployment_id=deployment.pk, step=Step.KEYPAIR, handlers=HANDLERS)
    row = deployment.steps.get(step=Step.KEYPAIR)
    assert row.state == StepState.SUCCEEDED, row.message
    return row.message


def test_a_new_key_is_made_once_then_reused_and_reimported_if_the_cloud_lost_it(cloud, own_key):
    first = run_keypair_step("one")
    assert first == f"Created key pair dagyard; its private key is in {own_key} (mode 600)."
    assert stat.S_IMODE(own_key.stat().st_mode) == 0o600
    public = cloud.keypairs["dagyard"]["public_key"]

    assert run_keypair_step("two") == "Using the existing key pair dagyard."

    cloud.keypairs.clear()  # someone deleted it in the cloud's dashboard
    assert run_keypair_step("three") == f"Imported key pair dagyard from {own_key}.pub."
    assert cloud.keypairs["dagyard"]["public_key"].split()[:2] == public.split()[:2]
    assert own_key.read_text().startswith("-----BEGIN OPENSSH PRIVATE KEY-----")
