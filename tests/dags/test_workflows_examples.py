"""The example workflows in `workflows/` are valid, load as the folder loader sees them, and work.

Each example is validated exactly as `dagyard sync` validates it, then its scripts run in the
validated graph's order with plain subprocesses, in the DAG's folder and with the environment
Dagyard gives a node. That proves the scripts themselves, apart from the engine, so a broken
example fails here with the script's own output rather than deep inside a run on a worker.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import uuid
from collections.abc import Iterator, Mapping
from decimal import Decimal, InvalidOperation
from pathlib import Path

import pytest

from dags.engine.definition import DagDefinition
from dags.engine.graph import Graph
from dags.engine.validation import validate, validate_file
from dags.services.definitions import definition_files

REPO_ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = REPO_ROOT / "workflows"
EXAMPLES: dict[str, str] = {
    "seed_example": "config.json",
    "etl": "dag.yaml",
    "fan_out": "dag.yaml",
}
"""Example name to its definition file, inside `workflows/<name>/`."""
NODE_COUNTS = {"seed_example": 4, "etl": 6, "fan_out": 22}
NODE_TIMEOUT_SECONDS = 60.0
SEED_NODES = {
    "file1.py": {"in": []},
    "file2.py": {"in": ["file1.py"]},
    "file3.py": {"in": ["file1.py"]},
    "file4.py": {"in": ["file2.py", "file3.py"]},
}
ETL_ROWS = 3000
ETL_CATEGORIES = 8
ETL_DAYS = 28
FANOUT_NUMBERS = 1000
FANOUT_SHARDS = 20


def load_example(name: str) -> tuple[DagDefinition, Graph]:
    definition, _ = validate_file(WORKFLOWS / name / EXAMPLES[name])
    return definition, validate(definition, check_files=True)


def node_environment(
    definition: DagDefinition, node_id: str, run_id: str, params: Mapping[str, str]
) -> dict[str, str]:
    """What a worker gives a node: its env, then the run's parameters, then Dagyard's names."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("DAGYARD_")}
    env.update(definition.nodes_by_id()[node_id].env)
    env.update(params)
    env.update(
        DAGYARD_DAG=definition.name,
        DAGYARD_RUN_ID=run_id,
        DAGYARD_NODE=node_id,
        DAGYARD_ATTEMPT="1",
        DAGYARD_PARAMS=json.dumps(dict(params), sort_keys=True),
    )
    return env


def run_node(
    definition: DagDefinition, node_id: str, run_id: str, params: Mapping[str, str]
) -> subprocess.CompletedProcess[str]:
    spec = definition.nodes_by_id()[node_id]
    return subprocess.run(
        spec.argv(sys.executable),
        cwd=definition.folder,
        env=node_environment(definition, node_id, run_id, params),
        capture_output=True,
        text=True,
        timeout=spec.timeout_seconds or NODE_TIMEOUT_SECONDS,
        check=False,
    )


def run_in_order(name: str, run_id: str, params: Mapping[str, str] | None = None) -> dict[str, str]:
    """Run every node of an example once, prerequisites first; return each node's stdout."""
    definition, graph = load_example(name)
    outputs: dict[str, str] = {}
    for node_id in graph.order:
        assert all(parent in outputs for parent in graph.parents[node_id])
        result = run_node(definition, node_id, run_id, params or {})
        assert result.returncode == 0, f"{name}/{node_id} failed:\n{result.stdout}{result.stderr}"
        outputs[node_id] = result.stdout
    return outputs


@pytest.fixture
def run_id(tmp_path: Path) -> Iterator[str]:
    """A run id no other test session shares; its `runs/<id>/` folders are removed afterwards."""
    value = f"pytest-{tmp_path.name}-{uuid.uuid4().hex[:10]}"
    yield value
    for name in EXAMPLES:
        runs = WORKFLOWS / name / "runs"
        shutil.rmtree(runs / value, ignore_errors=True)
        if runs.is_dir() and not any(runs.iterdir()):
            runs.rmdir()


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_every_example_validates_with_its_scripts_on_disk(name: str) -> None:
    definition, graph = load_example(name)

    assert definition.name == name
    assert len(graph) == NODE_COUNTS[name]
    for spec in definition.nodes:
        script = definition.folder / (spec.script or "")
        assert script.is_file(), f"{name}/{spec.id}: {script} is missing"
        assert os.access(script, os.X_OK), f"{name}/{spec.id}: {script} is not executable"


def test_the_folder_loader_finds_each_example_under_its_folder_name() -> None:
    found = {name: path for path, name in definition_files(WORKFLOWS)}

    for name, file_name in EXAMPLES.items():
        assert found[name].resolve() == (WORKFLOWS / name / file_name).resolve()


def test_seed_example_is_the_seeds_own_config_json_unchanged() -> None:
    data = json.loads((WORKFLOWS / "seed_example" / "config.json").read_text())
    definition, graph = load_example("seed_example")

    assert set(data) == {"deadline_seconds", "resources", "nodes"}
    assert data["nodes"] == SEED_NODES
    assert graph.order == ("file1.py", "file2.py", "file3.py", "file4.py")
    assert {node: list(parents) for node, parents in graph.parents.items()} == {
        node: spec["in"] for node, spec in SEED_NODES.items()
    }
    assert [spec.command for spec in definition.nodes] == [
        f"process_files/{node}" for node in SEED_NODES
    ]
    assert definition.deadline_seconds == data["deadline_seconds"]
    assert definition.resources.to_data() == data["resources"]


def test_seed_example_scripts_run_in_dependency_order(run_id: str) -> None:
    outputs = run_in_order("seed_example", run_id)

    assert f"start of run {run_id}" in outputs["file1.py"]
    assert "2262 primes below 20000" in outputs["file2.py"]
    assert "node file3.py" in outputs["file3.py"]
    assert outputs["file4.py"].endswith("file4: done\n")


def expected_totals(raw_csv: Path, key: str) -> list[tuple[str, int, int, int]]:
    """Totals computed here from the raw file, independently of the example's own code."""
    totals: dict[str, list[int]] = {}
    with raw_csv.open(newline="") as handle:
        for row in csv.DictReader(handle):
            try:
                dt.date.fromisoformat(row["day"])
                quantity = int(row["quantity"])
                price_cents = int(Decimal(row["unit_price"]) * 100)
            except (ValueError, InvalidOperation):
                continue
            if quantity <= 0:
                continue
            entry = totals.setdefault(row[key], [0, 0, 0])
            entry[0] += 1
            entry[1] += quantity
            entry[2] += quantity * price_cents
    return [
        (value, orders, units, cents) for value, (orders, units, cents) in sorted(totals.items())
    ]


def test_etl_loads_sqlite_with_totals_that_match_the_raw_file(run_id: str) -> None:
    outputs = run_in_order("etl", run_id, {"ETL_ROWS": str(ETL_ROWS)})
    folder = WORKFLOWS / "etl" / "runs" / run_id
    database = folder / "warehouse.sqlite"
    by_category = expected_totals(folder / "raw.csv", "category")
    by_day = expected_totals(folder / "raw.csv", "day")
    clean = sum(orders for _, orders, _, _ in by_category)

    def table(query: str) -> list[tuple]:
        with sqlite3.connect(database) as connection:
            return connection.execute(query).fetchall()

    category_rows = table("SELECT * FROM category_totals ORDER BY category")
    assert len(category_rows) == ETL_CATEGORIES
    assert category_rows == by_category
    assert table("SELECT * FROM daily_totals ORDER BY day") == by_day
    assert len(by_day) == ETL_DAYS
    assert table("SELECT COUNT(*) FROM sales") == [(clean,)]
    assert 0 < ETL_ROWS - clean < ETL_ROWS * 0.05  # a few broken rows, set aside
    assert f"{clean} clean rows, {ETL_ROWS - clean} rejected of {ETL_ROWS}" in outputs["validate"]
    assert f"orders: {clean}\n" in (folder / "report.txt").read_text()

    # load has retries: a second attempt must replace the tables, not add to them.
    definition, _ = load_example("etl")
    again = run_node(definition, "load", run_id, {"ETL_ROWS": str(ETL_ROWS)})
    assert again.returncode == 0, again.stderr
    assert table("SELECT COUNT(*) FROM sales") == [(clean,)]
    assert table("SELECT * FROM category_totals ORDER BY category") == by_category


def test_etl_validate_stops_the_run_when_too_many_rows_are_broken(run_id: str) -> None:
    definition, _ = load_example("etl")
    params = {"ETL_ROWS": "500", "ETL_MAX_REJECT_SHARE": "0.001"}
    assert run_node(definition, "extract", run_id, params).returncode == 0

    result = run_node(definition, "validate", run_id, params)

    assert result.returncode != 0
    assert "rejected share above 0.1%; stopping the run" in result.stderr


def test_fan_out_merge_adds_every_shard_exactly_once(run_id: str) -> None:
    definition, graph = load_example("fan_out")
    work = [f"work_{shard:02d}" for shard in range(1, FANOUT_SHARDS + 1)]
    assert graph.children["split"] == tuple(work)
    assert graph.parents["merge"] == tuple(work)

    outputs = run_in_order("fan_out", run_id, {"FANOUT_NUMBERS": str(FANOUT_NUMBERS)})

    folder = WORKFLOWS / "fan_out" / "runs" / run_id
    total = FANOUT_NUMBERS * (FANOUT_NUMBERS + 1) // 2
    partials = [
        tuple(map(int, (folder / "partials" / f"{shard:02d}.txt").read_text().split()))
        for shard in range(1, FANOUT_SHARDS + 1)
    ]
    assert sum(count for count, _ in partials) == FANOUT_NUMBERS
    assert sum(partial for _, partial in partials) == total
    assert (folder / "result.txt").read_text() == f"{FANOUT_NUMBERS} {total}\n"
    assert f"total {total} as expected" in outputs["merge"]
