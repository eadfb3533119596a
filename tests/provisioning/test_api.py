"""Deployments over the REST API: a token or the session, operators provision and deprovision,
viewers read, bodies are the documents the commands print, and every refusal has the one error
shape, records nothing and sends nothing to a worker.

A request's pipeline or deprovision is sent when its transaction commits; these tests capture
that instead of running a worker (tests/provisioning/test_commands_and_pages.py runs the real one).
"""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from provisioning import render, selectors
from provisioning.models import Deployment, DeploymentStep
from provisioning.states import PLAN_STEPS, DeploymentState
from tests.conftest import user_in

pytestmark = pytest.mark.django_db

REPO = "file:///srv/git/site.git"
DRY_RUN = {"repo_url": REPO, "name": "site", "dry_run": True}
NOT_LOGGED_IN = "Authentication credentials were not provided."
ROLE_REFUSED = "Your role does not allow this."


def error(status: int, code: str, message: str, fields: dict | None = None) -> dict:
    return {"error": {"status": status, "code": code, "message": message, "fields": fields or {}}}


def invalid(field: str, message: str) -> dict:
    return error(400, "invalid", f"{field}: {message}", {field: [message]})


def planned(name: str) -> Deployment:
    return Deployment.objects.create(
        name=name, repo_url=REPO, dry_run=True, state=DeploymentState.PLANNED
    )


def test_an_operator_with_a_token_starts_a_dry_run(
    client_as, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks() as sent:
        answer = client_as("operator").post("/api/deployments/", DRY_RUN, format="json")

    deployment = Deployment.objects.get()
    body = answer.json()
    assert answer.status_code == 201
    assert body == render.detail_data(deployment, selectors.steps_of(deployment))
    assert (body["name"], body["state"], body["dry_run"], body["repo_url"]) == (
        "site", "pending", True, REPO,
    )  # fmt: skip
    assert [step["step"] for step in body["steps"]] == [step.value for step in PLAN_STEPS]
    assert deployment.created_by == "operator"
    assert len(sent) == 1, "the pipeline is sent once, when the request commits"


def test_a_viewer_may_not_provision_and_nothing_is_created(
    client_as, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks() as sent:
        answer = client_as("viewer").post("/api/deployments/", DRY_RUN, format="json")

    assert (answer.status_code, answer.json()) == (
        403, error(403, "permission_denied", ROLE_REFUSED),
    )  # fmt: skip
    assert not Deployment.objects.exists()
    assert not DeploymentStep.objects.exists()
    assert sent == []


def test_without_credentials_it_is_a_401(client_as) -> None:
    planned("site")

    for answer in (
        client_as("anonymous").get("/api/deployments/"),
        client_as("anonymous").post("/api/deployments/", DRY_RUN, format="json"),
        client_as("anonymous").post("/api/deployments/site/deprovision"),
    ):
        assert (answer.status_code, answer.json()) == (
            401, error(401, "not_authenticated", NOT_LOGGED_IN),
        )  # fmt: skip
    assert list(Deployment.objects.values_list("name", flat=True)) == ["site"]


@pytest.mark.parametrize(
    ("body", "refusal"),
    [
        (
            {**DRY_RUN, "duration_hours": 500},
            invalid(
                "duration_hours",
                "The lease duration must be a whole number of hours from 1 to 168, not 500.",
            ),
        ),
        (
            {**DRY_RUN, "repo_url": "ftp://example.invalid/x"},
            invalid(
                "repo_url",
                "The repository URL 'ftp://example.invalid/x' is not one Dagyard can clone: use "
                "an http(s)://, ssh://, git://, file:// or user@host:path address.",
            ),
        ),
        (
            {**DRY_RUN, "name": "Not A Name"},
            invalid(
                "name",
                "The deployment name 'Not A Name' is not allowed: use 1-50 lowercase letters, "
                "digits and dashes, starting with a letter or digit.",
            ),
        ),
        (
            {**DRY_RUN, "node_type": "gpu rtx"},
            invalid(
                "node_type",
                "The node type 'gpu rtx' is not a node type name (letters, digits, dashes and "
                "underscores).",
            ),
        ),
        (
            {"name": "site", "dry_run": True},
            invalid("repo_url", "Send the repository to deploy as repo_url."),
        ),
        ({**DRY_RUN, "dry_run": "perhaps"}, invalid("dry_run", "Must be a valid boolean.")),
    ],
    ids=["lease length", "repository", "name", "node type", "no repository", "dry_run"],
)
def test_bad_input_is_a_400_naming_the_field_and_records_nothing(
    client_as, django_capture_on_commit_callbacks, body, refusal
) -> None:
    with django_capture_on_commit_callbacks() as sent:
        answer = client_as("operator").post("/api/deployments/", body, format="json")

    assert (answer.status_code, answer.json()) == (400, refusal)
    assert not Deployment.objects.exists()
    assert sent == []


def test_a_name_in_use_is_a_400_naming_name(client_as) -> None:
    planned("site")
    before = list(Deployment.objects.values())

    answer = client_as("operator").post("/api/deployments/", DRY_RUN, format="json")

    assert (answer.status_code, answer.json()) == (
        400,
        invalid("name", "There is already a deployment named 'site'; choose another name."),
    )
    assert list(Deployment.objects.values()) == before


def test_the_older_repo_key_is_still_understood(client_as) -> None:
    answer = client_as("operator").post(
        "/api/deployments/", {"repo": REPO, "dry_run": True}, format="json"
    )

    assert answer.status_code == 201
    assert answer.json()["name"] == "site"  # named after the repository


def test_deployments_are_listed_newest_first_in_pages(client_as) -> None:
    for name in ("first", "second", "third"):
        planned(name)

    page = client_as("viewer").get("/api/deployments/?page_size=2").json()

    newest = list(Deployment.objects.all()[:2])
    assert page == {
        "count": 3,
        "next": "http://testserver/api/deployments/?page=2&page_size=2",
        "previous": None,
        "results": [render.summary_data(deployment) for deployment in newest],
    }
    assert [row["name"] for row in page["results"]] == ["third", "second"]


def test_a_deployment_is_shown_as_the_command_shows_it(client_as) -> None:
    deployment = planned("site")

    answer = client_as("viewer").get("/api/deployments/site/")

    assert answer.status_code == 200
    assert answer.json() == render.detail_data(deployment, selectors.steps_of(deployment))


def test_an_unknown_deployment_is_a_404_in_the_same_shape(
    client_as, django_capture_on_commit_callbacks
) -> None:
    operator = client_as("operator")

    with django_capture_on_commit_callbacks() as sent:
        shown = operator.get("/api/deployments/nope/")
        removed = operator.post("/api/deployments/nope/deprovision")

    missing = error(404, "not_found", "There is no deployment named 'nope'.")
    assert (shown.status_code, shown.json()) == (404, missing)
    assert (removed.status_code, removed.json()) == (404, missing)
    assert sent == []


def test_an_operator_deprovisions_through_a_task_and_a_viewer_may_not(
    client_as, django_capture_on_commit_callbacks
) -> None:
    planned("site")

    with django_capture_on_commit_callbacks() as refused_sent:
        refused = client_as("viewer").post("/api/deployments/site/deprovision")
    with django_capture_on_commit_callbacks() as sent:
        accepted = client_as("operator").post("/api/deployments/site/deprovision")

    assert (refused.status_code, refused.json()) == (
        403, error(403, "permission_denied", ROLE_REFUSED),
    )  # fmt: skip
    assert refused_sent == []
    assert (accepted.status_code, accepted.json()) == (202, {"name": "site", "deprovision": "sent"})
    assert len(sent) == 1
    assert Deployment.objects.get().state == DeploymentState.PLANNED  # the worker does the rest


def test_the_browser_session_works_but_writes_need_csrf() -> None:
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(user_in("operator"))

    assert client.get("/api/deployments/").status_code == 200
    refused = client.post("/api/deployments/", DRY_RUN, format="json")

    assert refused.status_code == 403
    assert "CSRF" in refused.json()["error"]["message"]
    assert not Deployment.objects.exists()
