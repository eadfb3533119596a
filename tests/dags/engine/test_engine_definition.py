"""Loading definitions: Dagyard's YAML format, the seed's config.json unchanged, and commands."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dags.engine.definition import (
    FailurePolicy,
    NodeSpec,
    Resources,
    RetryPolicy,
    load_definition_file,
    parse_definition,
)
from dags.engine.errors import DefinitionError
from dags.engine.validation import validate, validate_file

PYTHON = "/usr/bin/python3.11"

SEED_CONFIG = """{
  "deadline_seconds": 3600,
  "resources": {
    "cpu_percent": 80,
    "memory_percent": 75,
    "disk_free_mb": 1024,
    "load_avg_1m": 4.0
  },
  "nodes": {
    "file1.py": { "in": [] },
    "file2.py": { "in": ["file1.py"] },
    "file3.py": { "in": ["file1.py"] },
    "file4.py": { "in": ["file2.py","file3.py"] }
  }
}
"""

ETL_YAML = """
name: etl
description: Nightly extract, transform, load.
labels: {team: data, cost_center: 42}
schedule: "0 2 * * *"
deadline_seconds: 3600
max_active_runs: 2
failure_policy: continue
resources: {cpu_percent: 80, memory_percent: 75, disk_free_mb: 1024, load_avg_1m: 4.0}
autoclone: {windows: [{from: "08:00", to: "18:00", copies: 3}]}
nodes:
  - id: extract
    command: scripts/extract.py
  - id: transform
    command: [scripts/transform.sh, --fast]
    in: [extract]
    env: {MODE: fast, PORT: 8080}
    timeout_seconds: 600
    queue_timeout_seconds: 300
    retry: {retries: 3, delay_seconds: 10, backoff: 2, max_delay_seconds: 300, jitter: 0.2}
    queue: heavy
    description: Cleans the rows.
    resources: {cpu_percent: 95, load_avg_1m: null}
  - id: report
    command: "scripts/report.sh | tee report.txt"
    shell: true
    in: [transform]
"""


def write_script(path: Path, *, executable: bool = False) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("print('hi')\n")
    if executable:
        path.chmod(0o755)


@pytest.fixture
def seed_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "simpleAutomation"
    for index in range(1, 5):
        write_script(folder / "process_files" / f"file{index}.py")
    (folder / "config.json").write_text(SEED_CONFIG)
    return folder


@pytest.fixture
def etl_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "etl"
    write_script(folder / "scripts" / "extract.py")
    write_script(folder / "scripts" / "transform.sh", executable=True)
    (folder / "etl.yaml").write_text(ETL_YAML)
    return folder


def test_the_seed_config_json_loads_unchanged_with_its_scripts_in_process_files(
    seed_folder: Path,
) -> None:
    definition, graph = validate_file(seed_folder / "config.json")

    assert definition.name == "simpleAutomation"
    assert definition.deadline_seconds == 3600
    assert definition.resources == Resources(
        cpu_percent=80, memory_percent=75, disk_free_mb=1024, load_avg_1m=4.0
    )
    assert definition.failure_policy is FailurePolicy.STOP
    assert definition.max_active_runs == 1
    assert [node.command for node in definition.nodes] == [
        f"process_files/file{index}.py" for index in range(1, 5)
    ]
    assert graph.order == ("file1.py", "file2.py", "file3.py", "file4.py")
    assert graph.parents["file4.py"] == ("file2.py", "file3.py")
    assert graph.children["file1.py"] == ("file2.py", "file3.py")
    assert definition.nodes[0].argv(PYTHON) == [PYTHON, "./process_files/file1.py"]
    assert all(node.resources == definition.resources for node in definition.nodes)


def test_dagyards_own_yaml_format_loads_every_field(etl_folder: Path) -> None:
    definition, graph = validate_file(etl_folder / "etl.yaml")

    assert definition.name == "etl"
    assert definition.folder == etl_folder.resolve()
    assert definition.source == str(etl_folder / "etl.yaml")
    assert definition.labels == {"team": "data", "cost_center": "42"}
    assert definition.schedule == "0 2 * * *"
    assert definition.max_active_runs == 2
    assert definition.failure_policy is FailurePolicy.CONTINUE
    assert definition.autoclone == {"windows": [{"from": "08:00", "to": "18:00", "copies": 3}]}
    extract, transform, report = definition.nodes
    assert extract == NodeSpec(
        id="extract", command="scripts/extract.py", resources=definition.resources
    )
    assert transform.command == ("scripts/transform.sh", "--fast")
    assert transform.prerequisites == ("extract",)
    assert transform.env == {"MODE": "fast", "PORT": "8080"}
    assert transform.timeout_seconds == 600
    assert transform.queue_timeout_seconds == 300
    assert transform.retry == RetryPolicy(
        retries=3, delay_seconds=10, backoff=2, max_delay_seconds=300, jitter=0.2
    )
    assert transform.queue == "heavy"
    assert transform.description == "Cleans the rows."
    assert report.shell is True
    assert graph.order == ("extract", "transform", "report")
    assert definition.nodes_by_id()["report"] is report


def test_a_nodes_resources_override_the_dags_key_by_key_and_null_skips_a_check(
    etl_folder: Path,
) -> None:
    definition = load_definition_file(etl_folder / "etl.yaml")
    assert definition.nodes[1].resources == Resources(
        cpu_percent=95, memory_percent=75, disk_free_mb=1024, load_avg_1m=None
    )


def test_nodes_may_be_a_mapping_of_id_to_spec(tmp_path: Path) -> None:
    data = {"nodes": {"a": {"command": ["true"]}, "b": {"command": ["true"], "in": ["a"]}}}
    definition = parse_definition(data, source="x.yaml", folder=tmp_path, default_name="x")
    assert [(node.id, node.prerequisites) for node in definition.nodes] == [
        ("a", ()),
        ("b", ("a",)),
    ]


def test_a_node_without_command_runs_the_script_named_by_its_id(tmp_path: Path) -> None:
    data = {"nodes": {"load.py": {}}}
    definition = parse_definition(data, source="x.yaml", folder=tmp_path, default_name="x")
    assert definition.nodes[0].command == "load.py"


def test_a_dag_without_name_takes_the_default_name_and_an_explicit_one_wins(
    seed_folder: Path,
) -> None:
    assert load_definition_file(seed_folder / "config.json", default_name="config").name == "config"
    data = {"name": "mine", "nodes": [{"id": "a", "command": ["true"]}]}
    assert parse_definition(data, source="x", folder=seed_folder, default_name="x").name == "mine"


def test_jitter_true_means_half_and_false_means_none(tmp_path: Path) -> None:
    data = {
        "nodes": [
            {"id": "a", "command": ["true"], "retry": {"retries": 1, "jitter": True}},
            {"id": "b", "command": ["true"], "retry": {"retries": 1, "jitter": False}},
        ]
    }
    definition = parse_definition(data, source="x", folder=tmp_path, default_name="x")
    assert [node.retry.jitter for node in definition.nodes] == [0.5, 0.0]


def test_a_definition_survives_a_round_trip_through_json(etl_folder: Path) -> None:
    definition = load_definition_file(etl_folder / "etl.yaml")
    data = json.loads(json.dumps(definition.to_data()))
    again = parse_definition(
        data, source=definition.source, folder=definition.folder, default_name="other"
    )
    assert again == definition


def test_a_python_script_runs_with_the_given_interpreter_never_a_bare_python() -> None:
    node = NodeSpec(id="a", command="jobs/load.py")
    assert node.argv(PYTHON) == [PYTHON, "./jobs/load.py"]
    assert node.argv(PYTHON, folder=Path("/srv/dags/etl")) == [PYTHON, "/srv/dags/etl/jobs/load.py"]
    with pytest.raises(ValueError, match="must be an absolute path, got 'python3'"):
        node.argv("python3")


def test_other_scripts_run_directly_by_a_path_the_os_will_not_search_for() -> None:
    assert NodeSpec(id="a", command="run.sh").argv(PYTHON) == ["./run.sh"]


def test_an_argument_list_runs_as_given() -> None:
    node = NodeSpec(id="a", command=("rsync", "-a", "src/", "dst/"))
    assert node.argv(PYTHON) == ["rsync", "-a", "src/", "dst/"]


def test_only_a_shell_node_goes_through_the_shell() -> None:
    node = NodeSpec(id="a", command="ls | wc -l", shell=True)  # noqa: S604 - builds a spec only
    assert node.argv(PYTHON) == ["/bin/sh", "-c", "ls | wc -l"]


def test_a_script_path_is_known_for_strings_and_slashed_list_heads_only() -> None:
    assert NodeSpec(id="a", command="x.py").script == "x.py"
    assert NodeSpec(id="a", command=("./x.sh", "--y")).script == "./x.sh"
    assert NodeSpec(id="a", command=("rsync", "-a")).script is None
    assert NodeSpec(id="a", command=("/usr/bin/env", "true")).script is None
    assert NodeSpec(id="a", command="ls | wc", shell=True).script is None  # noqa: S604


def test_a_definition_is_frozen() -> None:
    node = NodeSpec(id="a", command="x.py")
    with pytest.raises(AttributeError):
        node.id = "b"  # type: ignore[misc]


def test_validating_the_parsed_seed_config_gives_the_same_graph_as_the_file(
    seed_folder: Path,
) -> None:
    data = json.loads(SEED_CONFIG)
    definition = parse_definition(
        data, source="admin", folder=seed_folder, default_name="simpleAutomation"
    )
    assert validate(definition).order == ("file1.py", "file2.py", "file3.py", "file4.py")


def test_a_shape_error_surfaces_as_a_definition_error_naming_the_file(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text('{"nodes": {"a": {"dependsOn": ["b"]}}}')
    with pytest.raises(DefinitionError) as caught:
        load_definition_file(path)
    assert str(caught.value).startswith(f"{path}: node 'a': unknown key 'dependsOn'")
