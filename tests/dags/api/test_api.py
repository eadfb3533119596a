"""What scripts see from the REST API: whole bodies, the one error shape, refusals that change
nothing."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from rest_framework.test import APIClient

from dags.models import Dag, DagRun
from dags.services.runs import start_run
from orchestrator.models import ApiToken
from tests.conftest import user_in
from tests.dags.api.conftest import QUICK
from tests.dags.conftest import wait_for_run

pytestmark = pytest.mark.django_db


def error(status: int, code: str, message: str, fields: dict | None = None) -> dict:
    return {"error": {"status": status, "code": code, "message": message, "fields": fields or {}}}


def test_the_dag_list_is_the_documented_document(client_as, quick_dag):
    answer = client_as("viewer").get("/api/dags/")
    assert answer.status_code == 200
    assert answer.json() == [
        {"name": "quick", "description": "", "schedule": None, "paused": False,
         "active_runs": 0, "max_active_runs": 2, "last_run_id": None, "last_run_state": None,
         "last_run_at": None, "next_run_at": None},
    ]  # fmt: skip


def test_triggering_with_parameters_answers_the_new_run(client_as, quick_dag):
    answer = client_as("operator").post(
        "/api/dags/quick/runs/", {"params": {"REGION": "eu"}}, format="json"
    )
    assert answer.status_code == 201
    body = answer.json()
    run = DagRun.objects.get()
    assert body["id"] == run.pk
    assert (body["dag"], body["state"], body["trigger"], body["triggered_by"]) == (
        "quick", "running", "api", "operator"
    )  # fmt: skip
    assert body["params"] == {"REGION": "eu"}
    assert [node["node"] for node in body["nodes"]] == ["one"]


def test_a_bad_parameter_name_is_a_400_naming_the_field_and_starts_nothing(client_as, quick_dag):
    answer = client_as("operator").post(
        "/api/dags/quick/runs/", {"params": {"1X": "v"}}, format="json"
    )
    message = (
        "parameter '1X' is not a valid environment variable name "
        "(letters, digits and '_', not starting with a digit)"
    )
    assert answer.status_code == 400
    assert answer.json() == error(400, "invalid", f"params: {message}", {"params": [message]})
    assert DagRun.objects.count() == 0


def test_a_trigger_beyond_max_active_runs_is_a_409_with_the_reason(client_as, quick_dag):
    client = client_as("operator")
    for _ in range(2):
        assert client.post("/api/dags/quick/runs/", {}, format="json").status_code == 201
    answer = client.post("/api/dags/quick/runs/", {}, format="json")
    assert answer.status_code == 409
    assert answer.json() == error(
        409, "conflict",
        "DAG 'quick' already has 2 active run(s) and allows 2 (max_active_runs); "
        "wait for one to finish, cancel one, or raise the limit",
    )  # fmt: skip
    assert DagRun.objects.count() == 2


def test_unknown_dags_and_runs_are_404s_in_the_same_shape(client_as):
    client = client_as("viewer")
    assert client.get("/api/dags/ghost/").json() == error(
        404, "not_found", "no DAG is named 'ghost'"
    )
    assert client.get("/api/runs/999/").json() == error(404, "not_found", "no run has the id 999")


def test_a_definition_with_a_cycle_is_refused_field_by_field_and_saves_nothing(
    client_as, quick_dag
):
    cyclic = {"name": "loop", "nodes": [
        {"id": "a", "command": ["/bin/true"], "in": ["b"]},
        {"id": "b", "command": ["/bin/true"], "in": ["a"]},
    ]}  # fmt: skip
    answer = client_as("admin").post(
        "/api/dags/", {"definition": cyclic, "folder": quick_dag.folder}, format="json"
    )
    assert answer.status_code == 400
    problem = "the nodes form a cycle: a -> b -> a"
    assert answer.json() == error(
        400, "invalid", f"definition: {problem}", {"definition": [problem]}
    )
    assert list(Dag.objects.values_list("name", flat=True)) == ["quick"]


def test_admins_create_then_replace_a_dag_and_may_not_rename_it(client_as, quick_dag):
    client = client_as("admin")
    created = client.post(
        "/api/dags/", {"definition": {**QUICK, "name": "fresh"}, "folder": quick_dag.folder},
        format="json",
    )  # fmt: skip
    assert created.status_code == 201
    assert created.json()["name"] == "fresh"
    replaced = client.put(
        "/api/dags/fresh/",
        {
            "definition": {**QUICK, "name": "fresh", "description": "new"},
            "folder": quick_dag.folder,
        },
        format="json",
    )
    assert (replaced.status_code, replaced.json()["description"]) == (200, "new")
    renamed = client.put(
        "/api/dags/fresh/", {"definition": QUICK, "folder": quick_dag.folder}, format="json"
    )
    assert renamed.status_code == 400
    assert renamed.json()["error"]["fields"] == {
        "definition": [
            "a DAG cannot be renamed (from 'fresh' to 'quick'): create a new one instead"
        ]
    }


def test_runs_are_filtered_and_paginated(client_as, quick_dag, make_dag):
    other = make_dag({**QUICK, "name": "other"})
    first, _second = start_run(dag=quick_dag), start_run(dag=quick_dag)
    start_run(dag=other)
    client = client_as("viewer")
    page = client.get("/api/runs/?dag=quick&page_size=1").json()
    assert page["count"] == 2
    assert page["next"].endswith("/api/runs/?dag=quick&page=2&page_size=1")
    assert [run["dag"] for run in page["results"]] == ["quick"]
    client_as("operator").post(f"/api/runs/{first.pk}/cancel/")
    cancelled = client.get("/api/runs/?state=cancelled").json()
    assert [run["id"] for run in cancelled["results"]] == [first.pk]
    assert client.get("/api/runs/?state=sleepy").json() == error(
        400,
        "invalid",
        "state: unknown run state 'sleepy'",
        {"state": ["unknown run state 'sleepy'"]},
    )


def test_cancelling_a_finished_run_is_a_409(client_as, quick_dag):
    run = start_run(dag=quick_dag)
    client = client_as("operator")
    assert client.post(f"/api/runs/{run.pk}/cancel/").json()["state"] == "cancelled"
    again = client.post(f"/api/runs/{run.pk}/cancel/")
    assert again.status_code == 409
    assert again.json() == error(
        409,
        "conflict",
        f"run {run.pk} has already finished (cancelled); there is nothing to cancel",
    )


def test_a_wrong_token_is_refused_and_tokens_are_stored_only_as_hashes(quick_dag):
    token, text = ApiToken.issue(user=user_in("viewer"), name="ci")
    secret = text.split("_", 2)[2]
    assert secret not in token.secret_hash
    good, bad = APIClient(), APIClient()
    good.credentials(HTTP_AUTHORIZATION=f"Token {text}")
    bad.credentials(HTTP_AUTHORIZATION=f"Token {text[:-2]}xx")
    assert good.get("/api/dags/").status_code == 200
    answer = bad.get("/api/dags/")
    assert answer.status_code == 401
    assert answer.json() == error(401, "authentication_failed", "The API token is not valid.")


def test_the_browser_session_works_but_writes_need_csrf(quick_dag):
    user_in("operator")
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(User.objects.get(username="operator"))
    assert client.get("/api/dags/").status_code == 200
    refused = client.post("/api/dags/quick/runs/", {}, format="json")
    assert refused.status_code == 403
    assert "CSRF" in refused.json()["error"]["message"]
    assert DagRun.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_a_nodes_log_holds_its_attempts_output(celery_worker, client_as, make_dag):
    make_dag({"name": "talk", "nodes": [{"id": "say", "command": ["/bin/echo", "hello api"]}]})
    client = client_as("operator")
    run_id = client.post("/api/dags/talk/runs/", {}, format="json").json()["id"]
    wait_for_run(DagRun.objects.get(pk=run_id))
    log = client.get(f"/api/runs/{run_id}/nodes/say/log/").json()
    assert (log["run"], log["node"], log["state"], log["running_attempt"]) == (
        run_id, "say", "succeeded", None
    )  # fmt: skip
    [attempt] = log["attempts"]
    assert (attempt["number"], attempt["exit_code"], attempt["outcome"], attempt["output"]) == (
        1, 0, "succeeded", "hello api\n"
    )  # fmt: skip
    events = client.get(f"/api/runs/{run_id}/log/").json()["events"]
    assert events[0]["message"] == "Run started (api by operator) with 1 node(s)"
    assert events[-1]["message"].startswith("Run succeeded in ")
