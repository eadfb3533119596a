"""The commands, the pages and the API over the same services, through the real worker."""

from __future__ import annotations

import io
import json
import re

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import CommandError, call_command
from django.shortcuts import resolve_url

from provisioning.models import Deployment
from provisioning.services.deployments import create_deployment
from provisioning.states import DeploymentState
from tests.provisioning.conftest import wait_for_deployment

pytestmark = pytest.mark.django_db(transaction=True)


def run(*args: str) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_provision_dry_run_wait_prints_each_step_and_the_plan(
    provisioning_worker, cloud, ai, web_repo
):
    output = run("provision", "--repo", web_repo, "--name", "site", "--dry-run", "--wait")

    lines = output.splitlines()
    assert lines[0] == "dry run site started"
    assert any(line.startswith("[x] Analyse the repository") for line in lines)
    assert any(line.startswith("[x] Choose node type and lease length") for line in lines)
    assert re.search(r"^  node type +compute_haswell$", output, re.MULTILINE)
    assert re.search(r"^  image +CC-Ubuntu22.04$", output, re.MULTILINE)
    assert re.search(r"^  lease +24 h, \S+ \S+ to \S+ \S+ UTC$", output, re.MULTILINE)
    assert lines[-1] == "deployment site planned (dry run): nothing was created in the cloud"
    assert cloud.requests == []


def test_provision_wait_ends_with_the_ssh_command(provisioning_worker, cloud, ai, web_repo):
    cloud.lease_gets_until_active = 15  # a lease pending long enough to be seen waiting
    output = run("provision", "--repo", web_repo, "--name", "site", "--wait")
    deployment = Deployment.objects.get(name="site")
    assert deployment.state == DeploymentState.SUCCEEDED
    assert output.splitlines()[-1] == f"deployment site is up: ssh ubuntu@{deployment.floating_ip}"
    assert "[~] Wait for the lease" in output  # the PENDING lease showed as waiting


def test_deployments_list_and_show_and_deprovision(provisioning_worker, cloud, ai, web_repo):
    wait_for_deployment(create_deployment(repo_url=web_repo, name="site"))

    listed = json.loads(run("deployments", "list", "--json"))
    assert [(d["name"], d["state"]) for d in listed] == [("site", "succeeded")]
    shown = json.loads(run("deployments", "show", "site", "--json"))
    assert shown["ids"]["server_id"] == next(iter(cloud.servers))
    assert [s["state"] for s in shown["steps"]] == ["succeeded"] * 12
    assert shown["plan"]["decisions"]["requirements"]["source"] == "rules"
    assert "ssh ubuntu@" in run("deployments", "show", "site")
    assert "site" in run("deployments", "list")

    assert run("deprovision", "site").startswith("deployment site deprovisioned: removed server")
    assert run("deprovision", "site") == (
        "deployment site deprovisioned: nothing in the cloud to remove\n"
    )
    with pytest.raises(CommandError, match="There is no deployment named 'nope'."):
        run("deprovision", "nope")


def user_in_role(name: str, role: str):
    user = get_user_model().objects.create_user(name)
    # get_or_create: a transactional test flushes the groups the migration made.
    user.groups.add(Group.objects.get_or_create(name=role)[0])
    return user


@pytest.fixture
def logged_in(client):
    """A client logged in as an operator, who may provision and deprovision."""
    client.force_login(user_in_role("ops", "operator"))
    return client


@pytest.fixture
def viewer(client):
    client.force_login(user_in_role("watcher", "viewer"))
    return client


def test_pages_need_a_login(client):
    for path in ("/deployments/", "/deployments/x/"):
        response = client.get(path)
        assert response.status_code == 302
        assert response["Location"].startswith(resolve_url(settings.LOGIN_URL))
    answer = client.get("/api/deployments/")
    assert (answer.status_code, answer.json()["error"]["code"]) == (401, "not_authenticated")


def test_a_viewer_may_look_but_not_provision_or_deprovision(viewer):
    Deployment.objects.create(name="site", repo_url="file:///srv/site.git", state="succeeded")
    before = list(Deployment.objects.values())

    provisioned = viewer.post("/deployments/", {"repo_url": "file:///srv/x.git", "dry_run": "on"})
    deprovisioned = viewer.post("/deployments/site/deprovision")
    page = viewer.get("/deployments/site/")

    assert (provisioned.status_code, deprovisioned.status_code) == (403, 403)
    assert list(Deployment.objects.values()) == before
    assert page.status_code == 200
    assert "Deprovision</button>" not in page.content.decode()
    listing = viewer.get("/deployments/").content.decode()
    assert "site" in listing
    assert "Provision</button>" not in listing


def test_a_signed_in_user_without_a_role_sees_no_deployment_page(client):
    Deployment.objects.create(name="site", repo_url="file:///srv/site.git", state="succeeded")
    client.force_login(get_user_model().objects.create_user("nobody"))

    assert client.get("/deployments/").status_code == 403
    assert client.get("/deployments/site/").status_code == 403


def test_the_form_starts_a_dry_run_and_the_page_shows_steps_plan_and_sources(
    provisioning_worker, cloud, ai, web_repo, logged_in
):
    response = logged_in.post(
        "/deployments/", {"repo_url": web_repo, "name": "site", "dry_run": "on"}
    )
    assert response.status_code == 302
    assert response["Location"] == "/deployments/site/"
    wait_for_deployment(Deployment.objects.get(name="site"))

    page = logged_in.get("/deployments/site/").content.decode()
    assert "Planned" in page
    assert "Analyse the repository" in page
    assert "compute_haswell" in page
    assert '<td class="source-rules">rules</td>' in page
    assert 'http-equiv="refresh"' not in page  # finished: no more refreshing
    listing = logged_in.get("/deployments/").content.decode()
    assert "/deployments/site/" in listing


def test_the_form_shows_a_refusal_and_records_nothing(logged_in):
    response = logged_in.post("/deployments/", {"repo_url": "ftp://nope/x"})
    assert response.status_code == 200
    assert "is not one Dagyard can clone" in response.content.decode()
    assert not Deployment.objects.exists()


def test_the_api_starts_and_shows_deployments(provisioning_worker, cloud, ai, web_repo, logged_in):
    refused = logged_in.post(
        "/api/deployments/", {"repo_url": web_repo, "duration_hours": 500},
        content_type="application/json",
    )  # fmt: skip
    message = "The lease duration must be a whole number of hours from 1 to 168, not 500."
    assert refused.status_code == 400
    assert refused.json() == {
        "error": {
            "status": 400,
            "code": "invalid",
            "message": f"duration_hours: {message}",
            "fields": {"duration_hours": [message]},
        }
    }
    assert not Deployment.objects.exists()

    created = logged_in.post(
        "/api/deployments/", {"repo_url": web_repo, "name": "site", "dry_run": True},
        content_type="application/json",
    )  # fmt: skip
    assert created.status_code == 201
    assert created.json()["name"] == "site"
    assert created.json()["state"] == "pending"
    wait_for_deployment(Deployment.objects.get(name="site"))
    shown = logged_in.get("/api/deployments/site/").json()
    assert shown["state"] == "planned"
    assert shown["plan"]["node_type"] == "compute_haswell"
    assert shown == json.loads(run("deployments", "show", "site", "--json"))
    listed = logged_in.get("/api/deployments/").json()
    assert listed["results"] == json.loads(run("deployments", "list", "--json"))
    assert logged_in.get("/api/deployments/nope/").status_code == 404


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_on_a_terminal_the_step_list_is_redrawn_in_place(provisioning_worker, cloud, ai, web_repo):
    cloud.lease_gets_until_active = 15
    out = Terminal()
    call_command("provision", "--repo", web_repo, "--name", "site", "--wait", stdout=out)
    text = out.getvalue()
    assert "\x1b[12F" in text  # back to the first of the 12 step lines before each redraw
    last_drawing = text.rsplit("\x1b[12F", 1)[1]
    assert last_drawing.count("[x] ") == 12
    assert text.rstrip().splitlines()[-1].startswith("deployment site is up: ssh ubuntu@")


def test_the_page_deprovisions_through_a_task(provisioning_worker, cloud, ai, web_repo, logged_in):
    deployment = wait_for_deployment(create_deployment(repo_url=web_repo, name="site"))
    assert deployment.state == DeploymentState.SUCCEEDED, deployment.error
    assert "Deprovision" in logged_in.get("/deployments/site/").content.decode()

    response = logged_in.post("/deployments/site/deprovision")

    assert response.status_code == 302
    wait_for_deployment(deployment, until=lambda d: d.state == DeploymentState.DEPROVISIONED)
    assert (cloud.servers, cloud.floating_ips, cloud.leases) == ({}, {}, {})
    assert "Deprovision</button>" not in logged_in.get("/deployments/site/").content.decode()
