"""Every page and action through Django's test client: who may see and do what, what the pages
show, the status document the run page polls, and refusals shown as messages."""

from __future__ import annotations

import pytest
from django.contrib.messages import get_messages
from django.test import Client
from django.utils import timezone

from dags import errors, views
from dags.models import Dag, DagRun, NodeAttempt, NodeRun
from dags.services.runs import cancel_run, start_run
from dags.states import NodeState, RunState
from tests.dags.conftest import wait_until
from tests.dags.pages.conftest import PASSWORD, make_user

pytestmark = pytest.mark.django_db

LOGIN = "/accounts/login/"


@pytest.fixture(autouse=True)
def quick_worker_inspection(monkeypatch):
    """No worker runs in these tests: the Workers page should not wait long for answers."""
    monkeypatch.setattr(views, "WORKER_INSPECT_TIMEOUT_SECONDS", 0.2)


@pytest.fixture
def run(chain_dag: Dag) -> DagRun:
    return start_run(dag=chain_dag, triggered_by="tester")


def finish(run: DagRun, state: RunState = RunState.FAILED, nodes: NodeState | None = None) -> None:
    now = timezone.now()
    node_state = nodes or (NodeState.SUCCEEDED if state == RunState.SUCCEEDED else NodeState.FAILED)
    NodeRun.objects.filter(run=run).update(state=node_state, started_at=now, finished_at=now)
    DagRun.objects.filter(pk=run.pk).update(state=state, finished_at=now)


def page_urls(run: DagRun) -> list[str]:
    return [
        "/",
        "/dags/chain/",
        "/runs/",
        "/runs/?dag=chain&state=running&from=2020-01-01&to=2999-12-31",
        f"/runs/{run.pk}/",
        f"/runs/{run.pk}/status.json",
        f"/runs/{run.pk}/nodes/a/log.json",
        f"/runs/{run.pk}/log.json",
        "/workers/",
    ]


# Who may see what -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "expected"),
    [(None, 302), ("nobody", 403), ("viewer", 200), ("operator", 200), ("admin", 200)],
)
def test_every_page_answers_each_role_with_the_expected_status(client_as, run, role, expected):
    client = client_as(role)
    for url in page_urls(run):
        answer = client.get(url)
        assert answer.status_code == expected, url
        if expected == 302:
            assert answer["Location"].startswith(f"{LOGIN}?next=")


@pytest.mark.parametrize(
    ("role", "expected"),
    [(None, 302), ("nobody", 403), ("viewer", 403), ("operator", 200), ("admin", 200)],
)
def test_the_stop_question_is_for_operators_and_admins(client_as, chain_dag, role, expected):
    assert client_as(role).get("/dags/chain/stop/").status_code == expected


def action_urls(run: DagRun) -> dict[str, str]:
    return {
        "trigger": "/dags/chain/trigger/",
        "start": "/dags/chain/start/",
        "stop": "/dags/chain/stop/",
        "clone": "/dags/chain/clone/",
        "cancel": f"/runs/{run.pk}/cancel/",
        "retry": f"/runs/{run.pk}/retry/",
    }


@pytest.mark.parametrize("action", ["trigger", "start", "stop", "clone", "cancel", "retry"])
@pytest.mark.parametrize(
    ("role", "expected"),
    [(None, 302), ("nobody", 403), ("viewer", 403), ("operator", 302), ("admin", 302)],
)
def test_every_action_answers_each_role_with_the_expected_status(
    client_as, run, action, role, expected
):
    answer = client_as(role).post(action_urls(run)[action])
    assert answer.status_code == expected
    if role is None:
        assert answer["Location"].startswith(f"{LOGIN}?next=")
    elif expected == 302:
        assert not answer["Location"].startswith(LOGIN)


@pytest.mark.parametrize("action", ["trigger", "start", "stop", "clone", "cancel", "retry"])
def test_a_refused_role_changes_nothing(client_as, run, action):
    before = list(DagRun.objects.values_list("pk", "state")), list(Dag.objects.values("is_paused"))
    client_as("viewer").post(action_urls(run)[action])
    after = list(DagRun.objects.values_list("pk", "state")), list(Dag.objects.values("is_paused"))
    assert after == before


def test_actions_refuse_get(client_as, run):
    client = client_as("operator")
    for action, url in action_urls(run).items():
        if action != "stop":
            assert client.get(url).status_code == 405, url


def test_every_form_carries_a_csrf_token(client_as, run):
    client = client_as("operator")
    client.handler.enforce_csrf_checks = True
    for url in ("/", "/dags/chain/", f"/runs/{run.pk}/"):
        html = client.get(url).content.decode()
        assert html.count("<form") == html.count('name="csrfmiddlewaretoken"'), url
    assert client.post("/dags/chain/trigger/").status_code == 403


def test_the_login_page_is_the_one_page_anonymous_users_see(client):
    answer = client.get(LOGIN)
    assert answer.status_code == 200
    assert b"Log in" in answer.content
    assert b"csrfmiddlewaretoken" in answer.content


def test_logging_in_leads_to_the_dashboard(client):
    make_user("reader", "viewer", password=PASSWORD)
    answer = client.post(LOGIN, {"username": "reader", "password": PASSWORD}, follow=True)
    assert answer.redirect_chain[-1][0] == "/"
    assert b"DAG dashboard" in answer.content


# What the pages show --------------------------------------------------------------------------


def test_the_dashboard_lists_dags_with_status_next_run_actions_and_counts(client_as, chain_dag):
    make = Dag.objects.create(
        name="stopped-one", definition={"nodes": []}, folder="/tmp", is_paused=True
    )
    run = start_run(dag=chain_dag)
    html = client_as("operator").get("/").content.decode()
    assert "Total DAGs: 2" in html
    assert "runs in flight: 1" in html
    assert 'class="badge status-running"' in html
    assert "Stopped (paused)" in html
    assert f"#{run.pk}" in html
    assert 'class="autoclone"' in html
    assert "0 2 * * *" in html
    assert f"/dags/{make.name}/start/" in html
    assert "/dags/chain/stop/?next=" in html  # a run in flight: Stop asks first
    assert html.count(">Trigger</button>") == 2


def test_the_dashboard_hides_actions_a_viewer_may_not_take(client_as, chain_dag):
    html = client_as("viewer").get("/").content.decode()
    assert ">Details</a>" in html
    assert ">Trigger<" not in html
    assert ">Stop<" not in html
    assert ">Start<" not in html
    assert ">Clone<" not in html


@pytest.mark.parametrize(
    ("role", "staff", "admitted"),
    [("viewer", False, False), ("operator", False, False), ("admin", False, True),
     ("admin", True, True), ("operator", True, True)],
)  # fmt: skip
def test_the_nav_bar_offers_the_admin_to_exactly_those_it_lets_in(chain_dag, role, staff, admitted):
    """The admin role gets in by its group alone; viewers and operators only if made staff."""
    client = Client()
    client.force_login(make_user(f"{role}-nav", role, staff=staff))
    html = client.get("/").content.decode()
    assert ('href="/admin/"' in html) == admitted
    assert client.get("/admin/").status_code == (200 if admitted else 302)
    for link in ('href="/runs/"', 'href="/workers/"', 'href="/api/docs/"',
                 'href="/autoscaler/pools/"', 'href="/deployments/"', "Log out"):  # fmt: skip
        assert link in html


def test_the_dag_page_shows_the_definition_graph_and_recent_runs(client_as, chain_dag, run):
    finish(run, RunState.SUCCEEDED)
    answer = client_as("operator").get("/dags/chain/")
    html = answer.content.decode()
    assert "Three steps in a row." in html
    assert "team=data" in html
    assert "cpu_percent 95" in html
    assert "Failure policy</th><td>stop" in html
    assert "0 2 * * *" in html
    assert "- id: a" in html
    assert f'href="/runs/{run.pk}/"' in html
    assert 'name="params"' in html
    assert answer.context["graph"] == {
        "nodes": ["a", "b", "c"],
        "parents": {"a": [], "b": ["a"], "c": ["b"]},
    }
    assert "vendor/cytoscape-dagre/cytoscape-dagre.min.js" in html


def test_an_unknown_dag_or_run_is_a_404(client_as):
    client = client_as("viewer")
    assert client.get("/dags/nothing-here/").status_code == 404
    assert client.get("/runs/987654/").status_code == 404
    assert client.get("/runs/987654/status.json").status_code == 404


def test_the_run_page_embeds_the_graph_and_shows_the_event_log(client_as, run):
    answer = client_as("operator").get(f"/runs/{run.pk}/")
    html = answer.content.decode()
    assert answer.context["graph"]["parents"] == {"a": [], "b": ["a"], "c": ["b"]}
    assert "Run started (manual by tester) with 3 node(s)" in html
    assert 'id="cancel-form"' in html
    assert 'id="retry-form"' in html  # present but hidden while the run is active
    assert answer.context["is_active"]
    assert not answer.context["is_retryable"]
    assert "dags/run.js" in html


def test_the_run_page_offers_no_buttons_to_a_viewer(client_as, run):
    html = client_as("viewer").get(f"/runs/{run.pk}/").content.decode()
    assert 'id="cancel-form"' not in html
    assert 'id="retry-form"' not in html


def test_the_runs_list_filters_by_dag_state_and_date(client_as, chain_dag, make_dag):
    other = make_dag({"name": "other", "max_active_runs": 5,
                      "nodes": [{"id": "x", "command": ["/bin/true"]}]})  # fmt: skip
    first = start_run(dag=chain_dag)
    finish(first, RunState.SUCCEEDED)
    second = start_run(dag=other)
    third = start_run(dag=other)
    DagRun.objects.filter(pk=third.pk).update(
        created_at=timezone.now() - timezone.timedelta(days=3)
    )
    client = client_as("viewer")

    def listed(query: str) -> list[int]:
        return [run.pk for run in client.get(f"/runs/?{query}").context["page"].object_list]

    assert listed("") == [second.pk, first.pk, third.pk]
    assert listed("dag=chain") == [first.pk]
    assert listed("state=running") == [second.pk, third.pk]
    today = timezone.localdate().isoformat()
    assert listed(f"from={today}") == [second.pk, first.pk]
    assert listed(f"to={(timezone.localdate() - timezone.timedelta(days=1)).isoformat()}") == [
        third.pk
    ]
    answer = client.get("/runs/?from=yesterday")
    assert [str(m) for m in get_messages(answer.wsgi_request)] == [
        views.BAD_DATE.format(field="From")
    ]


def test_the_runs_list_pages_through_many_runs(client_as, make_dag, monkeypatch):
    monkeypatch.setattr(views, "RUNS_PER_PAGE", 2)
    dag = make_dag({"name": "many", "max_active_runs": 10,
                    "nodes": [{"id": "x", "command": ["/bin/true"]}]})  # fmt: skip
    ids = [start_run(dag=dag).pk for _ in range(5)]
    client = client_as("viewer")
    page3 = client.get("/runs/?dag=many&page=3")
    assert [run.pk for run in page3.context["page"].object_list] == [ids[0]]
    html = client.get("/runs/?dag=many&page=2").content.decode()
    assert "?dag=many&amp;page=1" in html
    assert "?dag=many&amp;page=3" in html
    assert "page 2 of 3" in html


def test_the_workers_page_lists_the_queues_with_their_depth(client_as):
    answer = client_as("viewer").get("/workers/")
    names = [queue["name"] for queue in answer.context["queues"]]
    assert names[:4] == ["default", "dags", "autoscaler", "provisioning"]
    assert all(queue["depth"] >= 0 for queue in answer.context["queues"])


# The status document --------------------------------------------------------------------------


def test_the_status_document_has_the_run_its_nodes_and_new_events(client_as, run):
    started = timezone.now()
    NodeRun.objects.filter(run=run, node_id="a").update(
        state=NodeState.SUCCEEDED, started_at=started, finished_at=started, attempts=1
    )
    client = client_as("viewer")
    data = client.get(f"/runs/{run.pk}/status.json").json()
    assert set(data) == {"run", "state", "terminal", "started_at", "finished_at", "now", "error",
                         "counts", "nodes", "events", "last_event_id"}  # fmt: skip
    assert (data["run"], data["state"], data["terminal"]) == (run.pk, "running", False)
    assert data["nodes"]["a"] == {
        "state": "succeeded",
        "started_at": started.isoformat(),
        "finished_at": started.isoformat(),
        "attempts": 1,
    }
    assert data["nodes"]["b"]["state"] == "pending"
    assert data["counts"] == {"succeeded": 1, "pending": 2}
    assert [event["message"] for event in data["events"]] == [
        "Run started (manual by tester) with 3 node(s)"
    ]
    last = data["last_event_id"]
    later = client.get(f"/runs/{run.pk}/status.json?after={last}").json()
    assert later["events"] == []
    assert later["last_event_id"] == last


def status_queries(client, run: DagRun, django_assert_num_queries, count: int) -> None:
    with django_assert_num_queries(count):
        assert client.get(f"/runs/{run.pk}/status.json?after=0").status_code == 200


def test_the_status_document_costs_the_same_queries_for_3_or_300_nodes(
    client_as, chain_dag, make_dag, django_assert_num_queries
):
    wide = make_dag({"name": "wide", "nodes": [
        {"id": f"n{i:03d}", "command": ["/bin/true"], "in": [f"n{i - 1:03d}"] if i else []}
        for i in range(300)
    ]})  # fmt: skip
    client = client_as("viewer")
    # The session, the user, the user's role, then the run, its nodes and the new events.
    status_queries(client, start_run(dag=chain_dag), django_assert_num_queries, 6)
    status_queries(client, start_run(dag=wide), django_assert_num_queries, 6)


def test_the_run_log_merges_attempts_into_the_events(client_as, run):
    node = NodeRun.objects.get(run=run, node_id="a")
    now = timezone.now()
    NodeAttempt.objects.create(node_run=node, number=1, worker="w1", started_at=now,
                               finished_at=now, exit_code=0, outcome="succeeded")  # fmt: skip
    data = client_as("viewer").get(f"/runs/{run.pk}/log.json").json()
    assert data["run"] == run.pk
    assert [(event["node"], event["message"]) for event in data["events"]] == [
        (None, "Run started (manual by tester) with 3 node(s)"),
        ("a", "Attempt 1 started on w1"),
        ("a", "Attempt 1 succeeded in 0.000s"),
    ]


def test_a_node_log_has_its_attempts_and_output(client_as, run):
    node = NodeRun.objects.get(run=run, node_id="a")
    now = timezone.now()
    NodeAttempt.objects.create(node_run=node, number=1, worker="w1", started_at=now,
                               finished_at=now, exit_code=0, outcome="succeeded",
                               output="hello from a\n")  # fmt: skip
    NodeRun.objects.filter(pk=node.pk).update(state=NodeState.SUCCEEDED, attempts=1)
    data = client_as("viewer").get(f"/runs/{run.pk}/nodes/a/log.json").json()
    assert data["node"] == "a"
    assert data["label"] == "Succeeded"
    assert data["running_attempt"] is None
    assert [(a["number"], a["outcome"], a["output"]) for a in data["attempts"]] == [
        (1, "succeeded", "hello from a\n")
    ]
    missing = client_as("viewer").get(f"/runs/{run.pk}/nodes/zz/log.json")
    assert missing.status_code == 404
    assert missing.json() == {"error": errors.UNKNOWN_NODE.format(run=run.pk, node="zz")}


# Actions and their refusals -------------------------------------------------------------------


def messages_of(answer) -> list[str]:
    return [str(message) for message in answer.context["messages"]]


def test_trigger_with_parameters_starts_a_run_and_opens_its_page(client_as, chain_dag):
    answer = client_as("operator").post(
        "/dags/chain/trigger/", {"params": "DAY=2026-01-31\n\n  MODE=fast mode\n"}, follow=True
    )
    run = DagRun.objects.get()
    assert answer.redirect_chain == [(f"/runs/{run.pk}/", 302)]
    assert run.params == {"DAY": "2026-01-31", "MODE": "fast mode"}
    assert run.triggered_by == "operator-user"
    assert messages_of(answer) == [views.TRIGGERED.format(run=run.pk, dag="chain")]


def test_a_bad_parameter_is_refused_with_its_message_and_starts_nothing(client_as, chain_dag):
    answer = client_as("operator").post(
        "/dags/chain/trigger/", {"params": "1BAD=x", "next": "/dags/chain/"}, follow=True
    )
    assert answer.status_code == 200
    assert answer.redirect_chain == [("/dags/chain/", 302)]
    assert messages_of(answer) == [errors.BAD_PARAM_NAME.format(name="1BAD")]
    assert not DagRun.objects.exists()


def test_a_trigger_past_max_active_runs_shows_the_refusal(client_as, chain_dag, run):
    answer = client_as("operator").post("/dags/chain/trigger/", {"next": "/"}, follow=True)
    assert messages_of(answer) == [errors.RUN_LIMIT_REACHED.format(dag="chain", active=1, limit=1)]
    assert DagRun.objects.count() == 1
    assert errors.RUN_LIMIT_REACHED.format(dag="chain", active=1, limit=1) in (
        answer.content.decode().replace("&#x27;", "'")
    )


def test_next_must_point_to_this_site(client_as, chain_dag):
    answer = client_as("operator").post(
        "/dags/chain/start/", {"next": "https://elsewhere.example/"}
    )
    assert answer["Location"] == "/"


def test_cancel_stops_an_active_run_and_says_so(client_as, run):
    answer = client_as("operator").post(f"/runs/{run.pk}/cancel/", follow=True)
    run.refresh_from_db()
    assert run.state == RunState.CANCELLED
    assert set(NodeRun.objects.filter(run=run).values_list("state", flat=True)) == {"cancelled"}
    assert messages_of(answer) == [views.CANCELLED.format(run=run.pk)]


def test_cancelling_a_finished_run_is_refused_with_its_message(client_as, run):
    finish(run, RunState.SUCCEEDED)
    answer = client_as("operator").post(f"/runs/{run.pk}/cancel/", follow=True)
    assert answer.status_code == 200
    assert messages_of(answer) == [
        errors.RUN_ALREADY_FINISHED.format(run=run.pk, state="succeeded")
    ]
    run.refresh_from_db()
    assert run.state == RunState.SUCCEEDED


def test_retry_reopens_a_failed_run(client_as, run):
    finish(run, RunState.FAILED)
    answer = client_as("operator").post(f"/runs/{run.pk}/retry/", follow=True)
    run.refresh_from_db()
    assert run.state == RunState.RUNNING
    assert messages_of(answer) == [views.RETRIED.format(run=run.pk)]


def test_retrying_a_running_run_is_refused_with_its_message(client_as, run):
    answer = client_as("operator").post(f"/runs/{run.pk}/retry/", follow=True)
    assert messages_of(answer) == [errors.RUN_NOT_RETRYABLE.format(run=run.pk, state="running")]
    run.refresh_from_db()
    assert run.state == RunState.RUNNING


def test_stop_asks_about_runs_in_flight_then_cancels_them_when_told(client_as, run):
    client = client_as("operator")
    question = client.get("/dags/chain/stop/?next=/").content.decode()
    assert "1 run is in flight" in question
    assert 'name="cancel_active" value="yes"' in question
    answer = client.post("/dags/chain/stop/", {"cancel_active": "yes", "next": "/"}, follow=True)
    assert Dag.objects.get().is_paused
    run.refresh_from_db()
    assert run.state == RunState.CANCELLED
    assert messages_of(answer) == [views.STOPPED_AND_CANCELLED.format(dag="chain", count=1)]


def test_stop_can_let_runs_in_flight_finish_and_start_undoes_it(client_as, run):
    client = client_as("operator")
    answer = client.post("/dags/chain/stop/", {"cancel_active": "no"}, follow=True)
    assert messages_of(answer) == [views.STOPPED.format(dag="chain")]
    run.refresh_from_db()
    assert run.state == RunState.RUNNING
    assert Dag.objects.get().is_paused
    answer = client.post("/dags/chain/start/", follow=True)
    assert messages_of(answer) == [views.STARTED.format(dag="chain")]
    assert not Dag.objects.get().is_paused


def test_the_stop_question_ignores_a_next_elsewhere(client_as, chain_dag):
    html = client_as("operator").get("/dags/chain/stop/?next=javascript:alert(1)").content
    assert b"javascript:" not in html


@pytest.mark.django_db(transaction=True)
def test_the_workers_page_shows_the_workers_celery_sees_and_their_tasks(
    celery_worker, client_as, make_dag, monkeypatch
):
    monkeypatch.setattr(views, "WORKER_INSPECT_TIMEOUT_SECONDS", 1.0)
    dag = make_dag({"name": "busy", "nodes": [{"id": "nap", "command": ["/bin/sleep", "30"]}]})
    run = start_run(dag=dag)
    wait_until(
        lambda: NodeRun.objects.get(run=run).state == NodeState.RUNNING, what="the node runs"
    )
    try:
        answer = client_as("viewer").get("/workers/")
        rows = {row.name: row for row in answer.context["workers"]}
        assert celery_worker.hostname in rows
        row = rows[celery_worker.hostname]
        assert set(row.queues) == {"default", "dags", "autoscaler", "provisioning"}
        assert [task["name"] for task in row.active] == ["dags.run_node"]
        queues = {queue["name"]: queue for queue in answer.context["queues"]}
        assert celery_worker.hostname in queues["dags"]["consumers"]
        assert "dags.run_node" in answer.content.decode()
    finally:
        cancel_run(run=run)
