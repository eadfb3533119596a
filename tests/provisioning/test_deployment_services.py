"""Creating deployments: what is accepted, and refusals that record nothing."""

from __future__ import annotations

import pytest

from provisioning.errors import BAD_DURATION, BAD_NAME, BAD_REPO_URL, NAME_TAKEN, DeploymentRefused
from provisioning.models import Deployment, DeploymentStep
from provisioning.services.deployments import create_deployment
from provisioning.states import DeploymentState

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def unconsumed_queue(monkeypatch, provisioning_env):
    """No worker here: the pipeline's messages go to a queue nobody reads."""
    monkeypatch.setenv("DAGYARD_PROVISIONING_QUEUE", "provisioning-unread")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"repo_url": "ftp://example.org/x.git"},
            BAD_REPO_URL.format(url="ftp://example.org/x.git"),
        ),
        ({"repo_url": "--upload-pack=evil"}, BAD_REPO_URL.format(url="--upload-pack=evil")),
        ({"repo_url": ""}, BAD_REPO_URL.format(url="")),
        ({"repo_url": "https://h/r.git", "name": "Bad_Name"}, BAD_NAME.format(name="Bad_Name")),
        ({"repo_url": "https://h/r.git", "duration_hours": 0}, BAD_DURATION.format(value=0)),
        ({"repo_url": "https://h/r.git", "duration_hours": 169}, BAD_DURATION.format(value=169)),
        ({"repo_url": "https://h/r.git", "duration_hours": "x"}, BAD_DURATION.format(value="x")),
    ],
    ids=["scheme", "option", "empty", "name", "zero-hours", "too-long", "not-a-number"],
)
def test_bad_input_is_refused_with_a_clear_message_and_changes_nothing(kwargs, message):
    with pytest.raises(DeploymentRefused) as refused:
        create_deployment(**kwargs)
    assert str(refused.value) == message
    assert not Deployment.objects.exists()
    assert not DeploymentStep.objects.exists()


def test_a_name_in_use_is_refused_and_the_first_deployment_stays():
    first = create_deployment(repo_url="https://example.org/ml/trainer.git", dry_run=True)
    assert first.name == "trainer"
    with pytest.raises(DeploymentRefused, match=NAME_TAKEN.format(name="trainer")):
        create_deployment(repo_url="https://example.org/other.git", name="trainer")
    assert list(Deployment.objects.values_list("name", flat=True)) == ["trainer"]


def test_names_come_from_the_url_and_never_collide():
    urls = ["git@github.com:me/Trainer.git", "ssh://host/me/trainer", "file:///srv/trainer/"]
    names = [create_deployment(repo_url=url, dry_run=True).name for url in urls]
    assert names == ["trainer", "trainer-2", "trainer-3"]


def test_a_new_deployment_is_pending_with_every_step_and_no_credentials_in_its_url():
    deployment = create_deployment(
        repo_url="https://me:tok3n-xyz@git.example.org/me/app.git",
        node_type="gpu_a100",
        duration_hours="48",
        dry_run=False,
    )
    assert deployment.repo_url == "https://git.example.org/me/app.git"
    assert deployment.state == DeploymentState.PENDING
    assert (deployment.requested_node_type, deployment.requested_duration_hours) == ("gpu_a100", 48)
    assert deployment.steps.count() == 12
