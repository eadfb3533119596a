"""Auto clones refuse hand changes on the admin and the API, and change nothing; clones really
produce runs through the real worker, with their clone index and count."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.conf import settings
from django.contrib.auth.models import Group, User
from django.test import Client
from rest_framework.test import APIClient

from dags.models import Dag, DagRun
from dags.services import autoclone
from dags.services.clones import AUTO_CLONE_MANAGED
from orchestrator.models import ApiToken
from tests.dags.conftest import wait_until

ZONE = ZoneInfo(settings.TIME_ZONE)
AT_0900 = datetime(2025, 1, 25, 9, 0, tzinfo=ZONE)
CLONE = "my_dag_20250125090000"
AUTOCLONE = {"ramp_up_time": "0900", "ramp_down_time": "1700", "ramp_count": 2}


def message(action: str) -> str:
    return AUTO_CLONE_MANAGED.format(name=CLONE, parent="my_dag", action=action)


@pytest.fixture
def auto_clone(make_dag: Callable[..., Dag]) -> Dag:
    make_dag(
        {"name": "my_dag", "nodes": [{"id": "a", "command": ["/bin/true"]}], "autoclone": AUTOCLONE}
    )
    with time_machine.travel(AT_0900, tick=False):
        autoclone.tick()
    return Dag.objects.get(name=CLONE)


def snapshot() -> list[tuple]:
    return list(Dag.objects.order_by("pk").values_list("name", "is_paused", "definition_hash"))


@pytest.fixture
def admin_api() -> APIClient:
    user = User.objects.create_user(username="admin", password="a long test password")
    user.groups.add(Group.objects.get_or_create(name="admin")[0])
    client = APIClient()
    _token, text = ApiToken.issue(user=user, name="tests")
    client.credentials(HTTP_AUTHORIZATION=f"Token {text}")
    return client


@pytest.fixture(params=["superuser", "admin group"])
def admin_site_client(request: pytest.FixtureRequest) -> Client:
    """The admin as a superuser uses it, and as a member of the `admin` group who is not staff."""
    if request.param == "superuser":
        return request.getfixturevalue("admin_client")
    user = User.objects.create_user(username="ada")
    user.groups.add(Group.objects.get_or_create(name="admin")[0])
    client = Client()
    client.force_login(user)
    return client


def conflict_body(text: str) -> dict:
    return {"error": {"status": 409, "code": "conflict", "message": text, "fields": {}}}


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("method", "path", "body", "action"),
    [
        ("delete", f"/api/dags/{CLONE}/", None, "deleted"),
        ("post", f"/api/dags/{CLONE}/pause/", {"cancel_active": True}, "stopped"),
        ("post", f"/api/dags/{CLONE}/resume/", {}, "started"),
        ("put", f"/api/dags/{CLONE}/", {"definition": {"name": CLONE, "nodes": []}}, "edited"),
    ],
)
def test_the_api_refuses_hand_changes_to_an_auto_clone(
    auto_clone: Dag, admin_api: APIClient, method: str, path: str, body, action: str
) -> None:
    before = snapshot()
    answer = getattr(admin_api, method)(path, body, format="json")
    assert answer.status_code == 409
    assert answer.json() == conflict_body(message(action))
    assert snapshot() == before


@pytest.mark.django_db
def test_the_api_refuses_replacing_an_auto_clone_through_the_dag_list(
    auto_clone: Dag, admin_api: APIClient
) -> None:
    before = snapshot()
    definition = {"name": CLONE, "nodes": [{"id": "b", "command": ["/bin/true"]}]}
    answer = admin_api.post(
        "/api/dags/", {"definition": definition, "folder": auto_clone.folder}, format="json"
    )
    assert answer.status_code == 409
    assert answer.json() == conflict_body(message("edited"))
    assert snapshot() == before


@pytest.mark.django_db
def test_the_admin_shows_an_auto_clone_read_only_and_says_autoclone_manages_it(
    auto_clone: Dag, admin_site_client
) -> None:
    before = snapshot()
    page = admin_site_client.get(f"/admin/dags/dag/{auto_clone.pk}/change/")
    assert page.status_code == 200
    texts = [str(m) for m in page.context["messages"]]
    assert texts == [message("edited, stopped or deleted")]
    assert not page.context["has_change_permission"]
    assert not page.context["has_delete_permission"]
    edit = admin_site_client.post(
        f"/admin/dags/dag/{auto_clone.pk}/change/",
        {"definition_text": "name: x\nnodes: []\n", "folder": auto_clone.folder},
    )
    assert edit.status_code == 403
    deleted = admin_site_client.post(f"/admin/dags/dag/{auto_clone.pk}/delete/", {"post": "yes"})
    assert deleted.status_code == 403
    assert snapshot() == before


@pytest.mark.django_db
def test_the_admin_bulk_delete_refuses_auto_clones_with_the_message(
    auto_clone: Dag, admin_site_client
) -> None:
    before = snapshot()
    selected = {"action": "delete_selected", "_selected_action": [auto_clone.pk]}
    confirm = admin_site_client.post("/admin/dags/dag/", selected)
    assert confirm.status_code == 200
    assert message("deleted") in [str(m) for m in confirm.context["messages"]]
    assert confirm.context["perms_lacking"]
    refused = admin_site_client.post("/admin/dags/dag/", {**selected, "post": "yes"})
    assert refused.status_code == 403
    assert snapshot() == before


@pytest.mark.django_db
def test_the_admin_clone_action_makes_an_ordinary_clone(make_dag, admin_site_client) -> None:
    dag = make_dag({"name": "plain", "nodes": [{"id": "a", "command": ["/bin/true"]}]})
    admin_site_client.post(
        "/admin/dags/dag/", {"action": "clone_dags", "_selected_action": [dag.pk]}, follow=True
    )
    clone = Dag.objects.get(name__startswith="plain_")
    assert clone.clone_link.parent == dag
    assert not clone.clone_link.is_auto_clone


ENV_SCRIPT = '#!/bin/sh\necho "$DAGYARD_DAG $DAGYARD_CLONE_INDEX/$DAGYARD_CLONE_COUNT" >> "$OUT"\n'


@pytest.mark.django_db(transaction=True)
def test_clones_really_produce_runs_with_their_clone_index_and_count(
    celery_worker, make_dag: Callable[..., Dag], tmp_path
) -> None:
    out = tmp_path / "seen.txt"
    parent = make_dag(
        {
            "name": "my_dag",
            "run_mode": "continuous",
            "min_run_interval_seconds": 3600,
            "nodes": [{"id": "report", "command": "report.sh", "env": {"OUT": str(out)}}],
            "autoclone": AUTOCLONE,
        },
        {"report.sh": ENV_SCRIPT},
    )
    # The first clone starts a continuous run at once; the tick time is travelled, the run is real.
    autoclone.tick(AT_0900)
    autoclone.tick(AT_0900.replace(minute=1))
    clones = list(Dag.objects.filter(clone_link__parent=parent).order_by("clone_link__created_at"))
    assert [clone.name for clone in clones] == [CLONE, "my_dag_20250125090100"]

    def lines() -> set[str]:
        return set(out.read_text().splitlines()) if out.exists() else set()

    wait_until(lambda: len(lines()) >= 2, what="both clones ran")
    assert lines() >= {f"{CLONE} 1/2", "my_dag_20250125090100 2/2"} or lines() >= {
        f"{CLONE} 1/1",
        "my_dag_20250125090100 2/2",
    }
    assert DagRun.objects.filter(dag__in=clones, triggered_by="continuous").count() == 2
    # The parent, started, keeps its own continuous run going through the periodic safety net.
    from dags.services.runs import keep_continuous_dags_running

    keep_continuous_dags_running()
    wait_until(lambda: "my_dag 0/2" in lines(), what="the parent ran as index 0")


@pytest.mark.django_db
def test_the_api_clone_action_makes_an_ordinary_clone_the_user_may_stop(
    auto_clone: Dag, admin_api: APIClient
) -> None:
    at = datetime(2025, 1, 25, 9, 30, 15, tzinfo=ZONE)
    with time_machine.travel(at, tick=False):
        made = admin_api.post(f"/api/dags/{CLONE}/clone/")  # a clone of a clone: of its parent

    assert made.status_code == 201
    assert made.json()["name"] == "my_dag_20250125093015"
    clone = Dag.objects.get(name="my_dag_20250125093015")
    assert clone.clone_link.parent.name == "my_dag"
    assert not clone.clone_link.is_auto_clone
    stopped = admin_api.post(f"/api/dags/{clone.name}/pause/", {}, format="json")
    assert (stopped.status_code, stopped.json()["paused"]) == (200, True)


@pytest.mark.django_db
def test_the_api_clone_of_an_unknown_dag_is_a_404(admin_api: APIClient) -> None:
    answer = admin_api.post("/api/dags/nothing/clone/")
    assert (answer.status_code, answer.json()["error"]["status"]) == (404, 404)
    assert not Dag.objects.exists()
