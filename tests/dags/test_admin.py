"""Editing DAGs in the admin validates exactly as the loader does."""

from __future__ import annotations

import pytest
import yaml
from django_celery_beat.models import PeriodicTask

from dags.models import Dag
from dags.services.scheduling import periodic_task_name

pytestmark = pytest.mark.django_db


def change_form(dag: Dag, text: str) -> dict:
    return {"definition_text": text, "folder": dag.folder, "is_paused": ""}


def test_a_cycle_typed_in_the_admin_is_shown_on_the_field_and_nothing_changes(
    admin_client, make_dag
):
    dag = make_dag({"name": "edit-me", "nodes": [{"id": "a", "command": ["/bin/true"]}]})
    before = (dag.definition_hash, dag.updated_at)
    text = yaml.safe_dump({"name": "edit-me", "nodes": [
        {"id": "a", "command": ["/bin/true"], "in": ["b"]},
        {"id": "b", "command": ["/bin/true"], "in": ["a"]},
    ]})  # fmt: skip
    answer = admin_client.post(f"/admin/dags/dag/{dag.pk}/change/", change_form(dag, text))
    assert answer.status_code == 200
    errors = answer.context["adminform"].form.errors["definition_text"]
    assert errors == ["the nodes form a cycle: a -> b -> a"]
    dag.refresh_from_db()
    assert (dag.definition_hash, dag.updated_at) == before


def test_an_unknown_key_and_a_missing_script_are_both_reported(admin_client, make_dag):
    dag = make_dag({"name": "typo", "nodes": [{"id": "a", "command": ["/bin/true"]}]})
    text = "name: typo\nnodes:\n  - id: a\n    command: ghost.sh\n    dependsOn: [x]\n"
    answer = admin_client.post(f"/admin/dags/dag/{dag.pk}/change/", change_form(dag, text))
    errors = answer.context["adminform"].form.errors["definition_text"]
    assert any("unknown key 'dependsOn'" in error for error in errors)


def test_a_valid_edit_is_saved_through_the_service_and_moves_the_schedule(admin_client, make_dag):
    dag = make_dag({"name": "hourly-edit", "schedule": "0 * * * *",
                    "nodes": [{"id": "a", "command": ["/bin/true"]}]})  # fmt: skip
    text = yaml.safe_dump({"name": "hourly-edit", "schedule": "15 3 * * *", "nodes": [
        {"id": "a", "command": ["/bin/true"]},
        {"id": "b", "command": ["/bin/true"], "in": ["a"]},
    ]})  # fmt: skip
    answer = admin_client.post(f"/admin/dags/dag/{dag.pk}/change/", change_form(dag, text))
    assert answer.status_code == 302
    dag.refresh_from_db()
    assert [node["id"] for node in dag.definition["nodes"]] == ["a", "b"]
    assert dag.schedule == "15 3 * * *"
    task = PeriodicTask.objects.get(name=periodic_task_name(dag))
    assert (task.crontab.minute, task.crontab.hour) == ("15", "3")


def test_the_run_pages_of_the_admin_answer(admin_client, make_dag):
    make_dag({"name": "listed", "nodes": [{"id": "a", "command": ["/bin/true"]}]})
    for path in ("/admin/dags/dag/", "/admin/dags/dagrun/", "/admin/dags/nodeattempt/",
                 "/admin/dags/runevent/"):  # fmt: skip
        assert admin_client.get(path).status_code == 200, path
