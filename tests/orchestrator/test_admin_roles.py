"""The Django admin follows the roles: a member of the `admin` group, not staff, runs it; viewers,
operators and people in no role get the admin's login page and change nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from django.contrib.auth.models import Group, Permission, User
from django.test import Client

from dags.models import Dag, DagRun
from dags.services.definitions import save_definition, submitted_definition
from orchestrator.admin_site import NOT_AN_ADMIN_ACCOUNT

pytestmark = pytest.mark.django_db

PASSWORD = "a long test password"
LOGIN = "/admin/login/"
ONE_NODE = {"name": "nightly", "nodes": [{"id": "a", "command": ["/bin/true"]}]}


def member(name: str, role: str | None, *, password: str | None = None, **flags) -> User:
    """A user whose only credential is the role group (no password unless one is asked for)."""
    user = User.objects.create_user(name, password=password, **flags)
    if role:
        user.groups.add(Group.objects.get_or_create(name=role)[0])
    return user


def logged_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def dag(tmp_path: Path) -> Dag:
    definition = submitted_definition(ONE_NODE, folder=str(tmp_path))
    return save_definition(definition, source_path="test")[0]


def change_form(dag: Dag, definition: dict) -> dict:
    return {"definition_text": yaml.safe_dump(definition), "folder": dag.folder, "is_paused": ""}


def offered_actions(client: Client, changelist: str) -> set[str]:
    form = client.get(changelist).context["action_form"]
    return {name for name, _ in form.fields["action"].choices if name} if form else set()


def dag_state() -> list[tuple]:
    return list(Dag.objects.order_by("pk").values_list("name", "definition_hash", "updated_at"))


# Every permission the admin asks about, and who holds it by role alone.
PERMISSIONS = [
    "dags.view_dag", "dags.change_dag", "dags.add_dag", "dags.delete_dag", "dags.delete_dagrun",
    "autoscaler.change_pool", "autoscaler.view_poolevaluation", "provisioning.view_deployment",
    "orchestrator.delete_apitoken", "auth.view_user", "auth.change_user", "auth.add_user",
    "auth.delete_group", "auth.change_group",
]  # fmt: skip
NOBODY_HOLDS = ["auth.change_permission", "django_celery_beat.change_periodictask",
                "sessions.view_session", "admin.view_logentry"]  # fmt: skip


@pytest.mark.parametrize(
    ("role", "flags", "holds"),
    [
        ("admin", {}, True),
        ("operator", {}, False),
        ("viewer", {}, False),
        (None, {}, False),
        (None, {"is_staff": True}, False),
        ("admin", {"is_active": False}, False),
    ],
)
def test_a_role_alone_grants_the_model_permissions_the_admin_asks_for(role, flags, holds):
    user = member("someone", role, **flags)
    assert {perm: user.has_perm(perm) for perm in PERMISSIONS} == dict.fromkeys(PERMISSIONS, holds)
    assert not any(user.has_perm(perm) for perm in NOBODY_HOLDS)
    modules = ["dags", "autoscaler", "provisioning", "orchestrator", "auth"]
    assert [user.has_module_perms(label) for label in modules] == [holds] * len(modules)
    assert not user.has_module_perms("django_celery_beat")
    granted = user.get_all_permissions()
    assert granted.issuperset(PERMISSIONS) if holds else granted == set()
    assert not granted & set(NOBODY_HOLDS)


def test_a_member_of_the_admin_group_logs_into_the_admin_and_sees_the_dag_list(dag):
    member("ada", "admin", password=PASSWORD)
    client = Client()
    assert client.get("/admin/")["Location"] == f"{LOGIN}?next=/admin/"
    answer = client.post(LOGIN, {"username": "ada", "password": PASSWORD, "next": "/admin/"})
    assert (answer.status_code, answer["Location"]) == (302, "/admin/")
    index = client.get("/admin/")
    assert index.status_code == 200
    apps = {app["app_label"] for app in index.context["app_list"]}
    assert apps == {"auth", "orchestrator", "dags", "autoscaler", "provisioning"}
    listing = client.get("/admin/dags/dag/")
    assert listing.status_code == 200
    assert [row.name for row in listing.context["cl"].result_list] == ["nightly"]
    ada = User.objects.get(username="ada")
    assert (ada.is_staff, ada.is_superuser) == (False, False)  # the group alone let ada in


def test_an_admin_edits_a_definition_through_the_admin_change_form(dag):
    client = logged_in(member("ada", "admin"))
    second = {"id": "b", "command": ["/bin/true"], "in": ["a"]}
    two_nodes = {**ONE_NODE, "nodes": [*ONE_NODE["nodes"], second]}
    answer = client.post(f"/admin/dags/dag/{dag.pk}/change/", change_form(dag, two_nodes))
    assert (answer.status_code, answer["Location"]) == (302, "/admin/dags/dag/")
    dag.refresh_from_db()
    assert [node["id"] for node in dag.definition["nodes"]] == ["a", "b"]


def test_a_bad_definition_from_an_admin_is_shown_on_the_field_and_saves_nothing(dag):
    client = logged_in(member("ada", "admin"))
    before = dag_state()
    cycle = {**ONE_NODE, "nodes": [{"id": "a", "command": ["/bin/true"], "in": ["b"]},
                                   {"id": "b", "command": ["/bin/true"], "in": ["a"]}]}  # fmt: skip
    answer = client.post(f"/admin/dags/dag/{dag.pk}/change/", change_form(dag, cycle))
    assert answer.status_code == 200
    errors = answer.context["adminform"].form.errors["definition_text"]
    assert errors == ["the nodes form a cycle: a -> b -> a"]
    assert dag_state() == before


def test_an_admin_opens_the_user_list_and_moves_a_viewer_to_operator(dag):
    client = logged_in(member("ada", "admin"))
    vic = member("vic", "viewer")
    listing = client.get("/admin/auth/user/")
    assert listing.status_code == 200
    assert {user.username for user in listing.context["cl"].result_list} == {"ada", "vic"}
    assert client.get("/admin/auth/group/").status_code == 200
    operator = Group.objects.get(name="operator")
    answer = client.post(
        f"/admin/auth/user/{vic.pk}/change/",
        {"username": "vic", "is_active": "on", "groups": [operator.pk],
         "date_joined_0": "2025-01-25", "date_joined_1": "09:00:00"},
    )  # fmt: skip
    assert (answer.status_code, answer["Location"]) == (302, "/admin/auth/user/")
    assert list(vic.groups.values_list("name", flat=True)) == ["operator"]


def test_an_admin_gets_the_run_actions_and_cannot_add_runs_by_hand(dag):
    client = logged_in(member("ada", "admin"))
    assert offered_actions(client, "/admin/dags/dag/") == {
        "delete_selected", "trigger_runs", "clone_dags"
    }  # fmt: skip
    assert offered_actions(client, "/admin/dags/dagrun/") == {
        "delete_selected", "cancel_runs", "retry_runs"
    }  # fmt: skip
    for model in ("dagrun", "nodeattempt", "runevent"):
        assert client.get(f"/admin/dags/{model}/add/").status_code == 403, model


@pytest.mark.parametrize("role", ["viewer", "operator", None])
def test_viewers_operators_and_people_in_no_role_get_the_admin_login_and_change_nothing(dag, role):
    someone = member(f"{role or 'nobody'}-user", role)
    vic = member("vic", "viewer")
    client = logged_in(someone)
    before = dag_state(), list(vic.groups.values_list("name", flat=True))
    for path in ("/admin/", "/admin/dags/dag/", f"/admin/dags/dag/{dag.pk}/change/",
                 "/admin/auth/user/", "/admin/dags/dagrun/"):  # fmt: skip
        answer = client.get(path)
        assert (answer.status_code, answer["Location"]) == (302, f"{LOGIN}?next={path}"), path
    page = client.get("/admin/", follow=True)
    assert page.status_code == 200
    assert page.templates[0].name == "admin/login.html"
    assert f"You are authenticated as {someone.username}, but are not authorized" in (
        page.content.decode()
    )
    tries = [
        (f"/admin/dags/dag/{dag.pk}/change/", change_form(dag, {**ONE_NODE, "description": "x"})),
        ("/admin/dags/dag/", {"action": "trigger_runs", "_selected_action": [dag.pk]}),
        (f"/admin/dags/dag/{dag.pk}/delete/", {"post": "yes"}),
        (f"/admin/auth/user/{vic.pk}/change/", {"username": "vic", "is_active": "on",
                                                "is_superuser": "on", "groups": []}),
    ]  # fmt: skip
    for path, data in tries:
        answer = client.post(path, data)
        assert (answer.status_code, answer["Location"]) == (302, f"{LOGIN}?next={path}"), path
    assert (dag_state(), list(vic.groups.values_list("name", flat=True))) == before
    assert not DagRun.objects.exists()
    assert not User.objects.get(username="vic").is_superuser


@pytest.mark.parametrize("role", ["viewer", "operator", None])
def test_the_admin_login_form_refuses_a_right_password_without_the_admin_role(role):
    member("someone", role, password=PASSWORD)
    client = Client()
    answer = client.post(LOGIN, {"username": "someone", "password": PASSWORD, "next": "/admin/"})
    assert answer.status_code == 200
    assert answer.context["form"].non_field_errors() == [
        NOT_AN_ADMIN_ACCOUNT % {"username": "username"}
    ]
    assert "_auth_user_id" not in client.session


def test_an_anonymous_visitor_is_sent_to_the_admin_login(dag):
    client = Client()
    for path in ("/admin/", "/admin/dags/dag/", f"/admin/dags/dag/{dag.pk}/change/",
                 "/admin/auth/user/"):  # fmt: skip
        answer = client.get(path)
        assert (answer.status_code, answer["Location"]) == (302, f"{LOGIN}?next={path}"), path
    assert client.get(LOGIN).status_code == 200


def test_staff_without_a_role_still_get_in_but_hold_only_what_they_were_given(dag):
    staff = member("sam", None, is_staff=True)
    client = logged_in(staff)
    assert client.get("/admin/").context["app_list"] == []
    assert client.get("/admin/dags/dag/").status_code == 403
    # Permission rows given by hand open the list, not the run actions, which ask the roles.
    staff.user_permissions.add(
        *Permission.objects.filter(
            content_type__app_label="dags", codename__in=["view_dag", "change_dag"]
        )
    )
    listing = client.get("/admin/dags/dag/")
    assert listing.status_code == 200
    assert offered_actions(client, "/admin/dags/dag/") == set()  # not even delete
    client.post("/admin/dags/dag/", {"action": "trigger_runs", "_selected_action": [dag.pk]})
    assert not DagRun.objects.exists()
