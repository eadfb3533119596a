"""Loading definitions into the database: the folder, the seed's config.json, refusals."""

from __future__ import annotations

import json

import pytest

from dags.engine.definition import load_definition_file
from dags.engine.errors import DefinitionError
from dags.models import Dag, DagRun
from dags.services.definitions import save_definition, sync_folder
from dags.services.runs import start_run
from dags.states import RunState
from tests.dags.conftest import wait_for_run, write_dag

pytestmark = pytest.mark.django_db(transaction=True)

SEED_CONFIG = {
    "deadline_seconds": 3600,
    "resources": {"cpu_percent": 100, "memory_percent": 99, "disk_free_mb": 1, "load_avg_1m": None},
    "nodes": {
        "file1.py": {"in": []},
        "file2.py": {"in": ["file1.py"]},
        "file3.py": {"in": ["file1.py"]},
        "file4.py": {"in": ["file2.py", "file3.py"]},
    },
}


def make_seed_folder(root):
    folder = root / "simpleAutomation"
    scripts = folder / "process_files"
    scripts.mkdir(parents=True)
    for number in range(1, 5):
        (scripts / f"file{number}.py").write_text(
            f"with open('order.txt', 'a') as out:\n    out.write('file{number}\\n')\n"
        )
    (folder / "config.json").write_text(json.dumps(SEED_CONFIG, indent=2))
    return folder


def test_the_seeds_config_json_loads_unchanged_and_runs_in_dependency_order(
    celery_worker, tmp_path
):
    folder = make_seed_folder(tmp_path)
    report = sync_folder(tmp_path)
    assert (report.saved, report.errors) == (["simpleAutomation"], [])
    dag = Dag.objects.get(name="simpleAutomation")
    run = wait_for_run(start_run(dag=dag))
    assert run.state == RunState.SUCCEEDED
    order = (folder / "order.txt").read_text().split()
    assert order[0] == "file1" and order[-1] == "file4"  # noqa: PT018 - one ordering claim
    assert sorted(order[1:3]) == ["file2", "file3"]


def test_sync_again_changes_nothing_and_names_each_dag_unchanged(tmp_path):
    make_seed_folder(tmp_path)
    sync_folder(tmp_path)
    again = sync_folder(tmp_path)
    assert (again.saved, again.unchanged) == ([], ["simpleAutomation"])


def test_several_definitions_in_one_folder_take_their_file_names(tmp_path):
    for stem in ("alpha", "beta"):
        (tmp_path / f"{stem}.yaml").write_text("nodes:\n  - id: one\n    command: [/bin/true]\n")
    (tmp_path / "data.json").write_text('{"rows": [1, 2, 3]}')  # data, not a definition
    report = sync_folder(tmp_path)
    assert sorted(report.saved) == ["alpha", "beta"]
    assert report.errors == []


def test_a_definition_with_a_cycle_is_refused_by_name_and_nothing_is_saved(tmp_path):
    path = write_dag(tmp_path / "loop", {"name": "loop", "nodes": [
        {"id": "a", "command": ["/bin/true"], "in": ["c"]},
        {"id": "b", "command": ["/bin/true"], "in": ["a"]},
        {"id": "c", "command": ["/bin/true"], "in": ["b"]},
    ]})  # fmt: skip
    report = sync_folder(tmp_path)
    assert report.saved == []
    assert report.errors == [f"{path}: the nodes form a cycle: a -> b -> c -> a"]
    assert Dag.objects.count() == 0


def test_a_bad_edit_leaves_the_stored_dag_as_it_was(tmp_path, make_dag):
    dag = make_dag({"name": "steady", "nodes": [{"id": "a", "command": ["/bin/true"]}]})
    before = (dag.definition, dag.definition_hash, dag.updated_at)
    path = write_dag(tmp_path / "steady", {"name": "steady", "nodes": [
        {"id": "a", "command": ["/bin/true"], "in": ["ghost"]},
    ]})  # fmt: skip
    with pytest.raises(DefinitionError) as refused:
        save_definition(load_definition_file(path))
    assert str(refused.value) == (
        f"{path}: node 'a': prerequisite 'ghost' is not a node of this DAG"
    )
    dag.refresh_from_db()
    assert (dag.definition, dag.definition_hash, dag.updated_at) == before
    assert DagRun.objects.count() == 0


def test_validate_names_a_nameless_definition_as_sync_does(tmp_path):
    import io

    from django.core.management import call_command

    for stem in ("alpha", "beta"):
        (tmp_path / f"{stem}.yaml").write_text("nodes:\n  - id: one\n    command: [/bin/true]\n")
    out = io.StringIO()
    call_command("dags", "validate", str(tmp_path / "beta.yaml"), stdout=out)
    assert out.getvalue().strip() == "ok: beta (1 nodes)"
    assert sorted(sync_folder(tmp_path).saved) == ["alpha", "beta"]
