"""Every problem validation reports, with the exact words users read."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest

from dags.engine import errors
from dags.engine.definition import parse_definition
from dags.engine.errors import DefinitionError
from dags.engine.graph import Graph
from dags.engine.validation import validate, validate_file


def node(node_id: str, *needs: str, **spec: Any) -> dict[str, Any]:
    return {"id": node_id, "command": ["true"], "in": list(needs), **spec}


def check(data: dict[str, Any], folder: Path, *, check_files: bool = True) -> Graph:
    definition = parse_definition(data, source="dag.yaml", folder=folder, default_name="dag")
    return validate(definition, check_files=check_files)


def problems_of(data: dict[str, Any], folder: Path, *, check_files: bool = True) -> list[str]:
    with pytest.raises(DefinitionError) as caught:
        check(data, folder, check_files=check_files)
    assert caught.value.source == "dag.yaml"
    return caught.value.problems


def test_a_cycle_is_refused_and_printed_from_its_first_defined_node(tmp_path: Path) -> None:
    data = {"nodes": [node("start"), node("a", "start", "c"), node("b", "a"), node("c", "b")]}
    assert problems_of(data, tmp_path) == ["the nodes form a cycle: a -> b -> c -> a"]


def test_a_node_that_needs_itself_is_a_cycle(tmp_path: Path) -> None:
    assert problems_of({"nodes": [node("a", "a")]}, tmp_path) == ["the nodes form a cycle: a -> a"]


def test_an_unknown_prerequisite_names_the_node_and_the_missing_name(tmp_path: Path) -> None:
    data = {"nodes": [node("a"), node("b", "a", "extrct")]}
    assert problems_of(data, tmp_path) == [
        "node 'b': prerequisite 'extrct' is not a node of this DAG"
    ]


def test_a_duplicate_id_is_refused(tmp_path: Path) -> None:
    data = {"nodes": [node("a"), node("b", "a"), node("a")]}
    assert problems_of(data, tmp_path) == ["node 'a': defined more than once"]


def test_a_missing_script_is_refused(tmp_path: Path) -> None:
    data = {"nodes": [{"id": "a", "command": "jobs/load.py"}]}
    assert problems_of(data, tmp_path) == [
        "node 'a': script 'jobs/load.py' does not exist in the DAG folder"
    ]


def test_a_missing_script_is_not_looked_for_when_files_are_not_checked(tmp_path: Path) -> None:
    data = {"nodes": [{"id": "a", "command": "jobs/load.py"}]}
    assert check(data, tmp_path, check_files=False).order == ("a",)


@pytest.mark.parametrize(
    "command",
    ["../secret.py", "jobs/../../secret.py", "/etc/passwd", ["../tool.sh", "--x"]],
)
def test_a_script_outside_the_dag_folder_is_refused_even_unchecked(
    tmp_path: Path, command: str | list[str]
) -> None:
    folder = tmp_path / "dag"
    folder.mkdir()
    (tmp_path / "secret.py").write_text("")
    shown = command if isinstance(command, str) else command[0]
    expected = [f"node 'a': script {shown!r} lies outside the DAG folder"]
    data = {"nodes": [{"id": "a", "command": command}]}
    assert problems_of(data, folder) == expected
    assert problems_of(data, folder, check_files=False) == expected


def test_a_symlink_that_leads_out_of_the_dag_folder_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "dag"
    folder.mkdir()
    (tmp_path / "secret.py").write_text("")
    os.symlink(tmp_path / "secret.py", folder / "innocent.py")
    data = {"nodes": [{"id": "a", "command": "innocent.py"}]}
    assert problems_of(data, folder) == [
        "node 'a': script 'innocent.py' lies outside the DAG folder"
    ]


def test_a_symlink_that_stays_inside_the_dag_folder_is_fine(tmp_path: Path) -> None:
    (tmp_path / "real.py").write_text("")
    os.symlink(tmp_path / "real.py", tmp_path / "alias.py")
    assert check({"nodes": [{"id": "a", "command": "alias.py"}]}, tmp_path).order == ("a",)


def test_a_script_run_directly_must_be_executable(tmp_path: Path) -> None:
    (tmp_path / "run.sh").write_text("#!/bin/sh\n")
    data = {"nodes": [{"id": "a", "command": "run.sh"}]}
    assert problems_of(data, tmp_path) == [
        "node 'a': script 'run.sh' is not executable; mark it executable or name its "
        "interpreter in an argument list"
    ]
    (tmp_path / "run.sh").chmod(0o755)
    assert check(data, tmp_path).order == ("a",)


@pytest.mark.parametrize(
    ("resources", "expected"),
    [
        ({"cpu_percent": 101}, "DAG: resources.cpu_percent must be between 0 and 100, got 101.0"),
        (
            {"memory_percent": -5},
            "DAG: resources.memory_percent must be between 0 and 100, got -5.0",
        ),
        ({"disk_free_mb": -1}, "DAG: resources.disk_free_mb must not be negative, got -1.0"),
        ({"load_avg_1m": -0.5}, "DAG: resources.load_avg_1m must not be negative, got -0.5"),
        (
            {"load_avg_1m": float("nan")},
            "DAG: resources.load_avg_1m must be a number or null, got nan",
        ),
    ],
)
def test_a_malformed_threshold_is_refused(
    tmp_path: Path, resources: dict[str, float], expected: str
) -> None:
    assert problems_of({"resources": resources, "nodes": [node("a")]}, tmp_path) == [expected]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("high", "node 'a': resources.cpu_percent must be a number or null, got 'high'"),
        (True, "node 'a': resources.cpu_percent must be a number or null, got True"),
    ],
)
def test_a_threshold_that_is_not_a_number_is_refused(
    tmp_path: Path, value: object, expected: str
) -> None:
    assert problems_of({"nodes": [node("a", resources={"cpu_percent": value})]}, tmp_path) == [
        expected
    ]


def test_null_thresholds_skip_their_checks(tmp_path: Path) -> None:
    data = {"resources": dict.fromkeys(["cpu_percent", "disk_free_mb"]), "nodes": [node("a")]}
    assert check(data, tmp_path).order == ("a",)


@pytest.mark.parametrize("schedule", ["61 * * * *", "every day", "* * * *", "0 0 * * * *"])
def test_a_malformed_cron_expression_is_refused(tmp_path: Path, schedule: str) -> None:
    assert problems_of({"schedule": schedule, "nodes": [node("a")]}, tmp_path) == [
        f"DAG: schedule {schedule!r} is not a valid cron expression"
    ]


@pytest.mark.parametrize("schedule", ["*/5 * * * *", "0 2 * * mon-fri", "@daily"])
def test_a_well_formed_cron_expression_is_accepted(tmp_path: Path, schedule: str) -> None:
    assert check({"schedule": schedule, "nodes": [node("a")]}, tmp_path).order == ("a",)


@pytest.mark.parametrize(
    ("retry", "expected"),
    [
        ({"retries": -1}, "node 'a': retry.retries must be a whole number of at least 0, got -1"),
        ({"retries": 1.5}, "node 'a': retry.retries must be a whole number of at least 0, got 1.5"),
        (
            {"delay_seconds": -2},
            "node 'a': retry.delay_seconds must be a number of seconds of at least 0, got -2.0",
        ),
        (
            {"max_delay_seconds": -1},
            "node 'a': retry.max_delay_seconds must be a number of seconds of at least 0, got -1.0",
        ),
        ({"backoff": 0.5}, "node 'a': retry.backoff must be a number of at least 1, got 0.5"),
        (
            {"jitter": 1.5},
            "node 'a': retry.jitter must be true, false or a fraction from 0 to 1, got 1.5",
        ),
        (
            {"jitter": "lots"},
            "node 'a': retry.jitter must be true, false or a fraction from 0 to 1, got 'lots'",
        ),
        (
            {"delay": 5},
            "node 'a' retry: unknown key 'delay' (allowed: retries, delay_seconds, "
            "backoff, max_delay_seconds, jitter)",
        ),
    ],
)
def test_bad_retry_values_are_refused(
    tmp_path: Path, retry: dict[str, object], expected: str
) -> None:
    assert problems_of({"nodes": [node("a", retry=retry)]}, tmp_path) == [expected]


@pytest.mark.parametrize("value", [0, -1, 1.5, "2", True])
def test_max_active_runs_below_one_or_not_whole_is_refused(tmp_path: Path, value: object) -> None:
    assert problems_of({"max_active_runs": value, "nodes": [node("a")]}, tmp_path) == [
        f"DAG: max_active_runs must be a whole number of at least 1, got {value!r}"
    ]


@pytest.mark.parametrize("key", ["timeout_seconds", "queue_timeout_seconds"])
@pytest.mark.parametrize("value", [0, -3])
def test_a_node_clock_must_be_positive(tmp_path: Path, key: str, value: int) -> None:
    assert problems_of({"nodes": [node("a", **{key: value})]}, tmp_path) == [
        f"node 'a': {key} must be a positive number of seconds or null, got {float(value)!r}"
    ]


def test_a_deadline_must_be_positive(tmp_path: Path) -> None:
    assert problems_of({"deadline_seconds": 0, "nodes": [node("a")]}, tmp_path) == [
        "DAG: deadline_seconds must be a positive number of seconds or null, got 0.0"
    ]


def test_a_clock_that_is_not_a_number_is_refused(tmp_path: Path) -> None:
    assert problems_of({"deadline_seconds": "1h", "nodes": [node("a")]}, tmp_path) == [
        "DAG: deadline_seconds must be a number of seconds or null, got '1h'"
    ]


def test_a_typo_in_a_key_is_an_error_naming_the_key(tmp_path: Path) -> None:
    data = {"nodes": [node("a"), {"id": "b", "command": ["true"], "dependsOn": ["a"]}]}
    assert problems_of(data, tmp_path) == [
        "node 'b': unknown key 'dependsOn' (allowed: id, command, in, env, timeout_seconds, "
        "queue_timeout_seconds, retry, queue, description, resources, shell)"
    ]


def test_an_unknown_top_level_key_is_an_error(tmp_path: Path) -> None:
    assert problems_of({"deadline": 5, "nodes": [node("a")]}, tmp_path) == [
        "DAG: unknown key 'deadline' (allowed: name, description, labels, deadline_seconds, "
        "resources, max_active_runs, schedule, failure_policy, nodes, autoclone, run_mode, "
        "min_run_interval_seconds)"
    ]


def test_an_unknown_resource_key_is_an_error(tmp_path: Path) -> None:
    assert problems_of({"resources": {"cpu": 50}, "nodes": [node("a")]}, tmp_path) == [
        "DAG resources: unknown key 'cpu' (allowed: cpu_percent, memory_percent, disk_free_mb, "
        "load_avg_1m)"
    ]


def test_a_dag_without_nodes_is_refused(tmp_path: Path) -> None:
    assert problems_of({"nodes": []}, tmp_path) == ["DAG: nodes must hold at least one node"]
    assert problems_of({}, tmp_path) == ["DAG: nodes must hold at least one node"]


def test_a_list_node_without_id_is_refused(tmp_path: Path) -> None:
    data = {"nodes": [node("a"), {"command": ["true"]}]}
    assert problems_of(data, tmp_path) == ["node #2: has no id"]


def test_an_id_in_the_mapping_form_is_refused(tmp_path: Path) -> None:
    data = {"nodes": {"a": {"id": "b", "command": ["true"]}}}
    assert problems_of(data, tmp_path) == [
        "node 'a': unknown key 'id' (allowed: command, in, env, timeout_seconds, "
        "queue_timeout_seconds, retry, queue, description, resources, shell)"
    ]


def test_an_id_with_odd_characters_is_refused(tmp_path: Path) -> None:
    assert problems_of({"nodes": [node("my node")]}, tmp_path) == [
        "node 'my node': id must start with a letter or digit and hold only letters, digits, "
        "'.', '_' and '-' (at most 200)"
    ]


def test_a_name_with_odd_characters_is_refused(tmp_path: Path) -> None:
    assert problems_of({"name": "my dag", "nodes": [node("a")]}, tmp_path) == [
        "DAG: name must start with a letter or digit and hold only letters, digits, '.', '_' "
        "and '-' (at most 200), got 'my dag'"
    ]


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ({"command": ""}, "node 'a': command must not be empty"),
        ({"command": []}, "node 'a': command must not be empty"),
        (
            {"command": ["ls", "-l"], "shell": True},
            "node 'a': a command run through the shell must be a string, not a list",
        ),
        (
            {"command": 5},
            "node 'a': command must be a script path or a list of strings, got 5",
        ),
        ({"command": ["true"], "shell": "yes"}, "node 'a': shell must be true or false, got 'yes'"),
        ({"command": ["true"], "in": "b"}, "node 'a': in must be a list of node ids, got 'b'"),
        (
            {"command": ["true"], "env": {"DEBUG": True}},
            "node 'a': env.DEBUG must be a string, got True",
        ),
        ({"command": ["true"], "queue": 3}, "node 'a': queue must be a string, got 3"),
    ],
)
def test_a_malformed_command_or_field_is_refused(
    tmp_path: Path, spec: dict[str, object], expected: str
) -> None:
    assert problems_of({"nodes": {"a": spec}}, tmp_path) == [expected]


def test_an_unknown_failure_policy_is_refused(tmp_path: Path) -> None:
    assert problems_of({"failure_policy": "retry", "nodes": [node("a")]}, tmp_path) == [
        "DAG: failure_policy must be 'stop' or 'continue', got 'retry'"
    ]


def test_every_problem_is_reported_at_once_and_named(tmp_path: Path) -> None:
    data = {
        "schedule": "nope",
        "nodes": [
            node("a", "c"),
            node("b", "a", "ghost"),
            node("c", "b", resources={"cpu_percent": 300}),
        ],
    }
    with pytest.raises(DefinitionError) as caught:
        check(data, tmp_path)
    assert caught.value.problems == [
        "DAG: schedule 'nope' is not a valid cron expression",
        "node 'c': resources.cpu_percent must be between 0 and 100, got 300.0",
        "node 'b': prerequisite 'ghost' is not a node of this DAG",
        "the nodes form a cycle: a -> b -> c -> a",
    ]
    assert str(caught.value) == (
        "dag.yaml: 4 problems:\n"
        "  - DAG: schedule 'nope' is not a valid cron expression\n"
        "  - node 'c': resources.cpu_percent must be between 0 and 100, got 300.0\n"
        "  - node 'b': prerequisite 'ghost' is not a node of this DAG\n"
        "  - the nodes form a cycle: a -> b -> c -> a"
    )


def test_one_problem_reads_as_one_line_naming_the_file(tmp_path: Path) -> None:
    with pytest.raises(DefinitionError) as caught:
        check({"nodes": [node("a", "zz")]}, tmp_path)
    assert str(caught.value) == "dag.yaml: node 'a': prerequisite 'zz' is not a node of this DAG"
    assert isinstance(caught.value, ValueError)


def test_a_yaml_file_with_a_key_twice_is_refused_rather_than_losing_a_node(
    tmp_path: Path,
) -> None:
    path = tmp_path / "dag.yaml"
    path.write_text("nodes:\n  a: {command: [true]}\n  a: {command: [false]}\n")
    with pytest.raises(DefinitionError) as caught:
        validate_file(path)
    assert caught.value.problems == ["key 'a' appears more than once in the same mapping"]


def test_a_json_file_with_a_key_twice_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "dag.json"
    path.write_text('{"nodes": {"a": {}, "a": {}}}')
    with pytest.raises(DefinitionError) as caught:
        validate_file(path)
    assert caught.value.problems == ["key 'a' appears more than once in the same mapping"]


def test_a_file_that_is_not_yaml_or_json_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "dag.toml"
    path.write_text("")
    with pytest.raises(DefinitionError) as caught:
        validate_file(path)
    assert caught.value.problems == ["unsupported file type '.toml'; use .yaml, .yml or .json"]


def test_a_file_with_broken_syntax_says_which_language(tmp_path: Path) -> None:
    path = tmp_path / "dag.json"
    path.write_text("{nodes")
    with pytest.raises(DefinitionError) as caught:
        validate_file(path)
    assert caught.value.problems[0].startswith("is not valid JSON: ")
    path = tmp_path / "dag.yaml"
    path.write_text("nodes: [a\n")
    with pytest.raises(DefinitionError) as caught:
        validate_file(path)
    assert caught.value.problems[0].startswith("is not valid YAML: ")


def test_a_yaml_key_that_cannot_be_a_key_is_a_syntax_error_not_a_crash(tmp_path: Path) -> None:
    path = tmp_path / "dag.yaml"
    path.write_text("? [a, b]\n: 1\n")
    with pytest.raises(DefinitionError) as caught:
        validate_file(path)
    assert caught.value.problems[0].startswith("is not valid YAML: ")


def test_a_file_whose_top_level_is_not_a_mapping_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "dag.yaml"
    path.write_text("- a\n- b\n")
    with pytest.raises(DefinitionError) as caught:
        validate_file(path)
    assert caught.value.problems == ["DAG: must be a mapping, got ['a', 'b']"]


def test_an_unreadable_file_is_refused_with_the_reason(tmp_path: Path) -> None:
    path = tmp_path / "dag.yaml"
    path.mkdir()
    with pytest.raises(DefinitionError) as caught:
        validate_file(path)
    assert caught.value.problems[0].startswith("cannot be read: ")


def test_every_message_template_is_asserted_by_some_test() -> None:
    here = Path(__file__).parent
    # Join implicitly concatenated string literals so a message split over lines still counts.
    source = re.sub(r'"\s*\n\s*"', "", "".join(p.read_text() for p in here.glob("test_*.py")))
    unasserted = []
    for name in (name for name in dir(errors) if name.isupper()):
        literal = max(re.split(r"\{[^}]*\}", getattr(errors, name)), key=len)
        if literal.strip() not in source:
            unasserted.append(name)
    assert unasserted == []
