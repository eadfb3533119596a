"""Fixtures for DAG tests: definitions written to disk, saved, run through the real worker."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from dags.engine.definition import load_definition_file
from dags.models import Dag, DagRun
from dags.services.definitions import save_definition
from dags.states import RUN_TERMINAL

RUN_TIMEOUT = 60.0


def write_dag(folder: Path, definition: dict, scripts: dict[str, str] | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in (scripts or {}).items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        path.chmod(0o755)
    definition_path = folder / "dag.yaml"
    definition_path.write_text(yaml.safe_dump(definition, sort_keys=False))
    return definition_path


@pytest.fixture
def make_dag(tmp_path: Path) -> Callable[..., Dag]:
    """`make_dag(definition, scripts)` writes the files and saves the DAG like `dagyard sync`."""

    def make(
        definition: dict, scripts: dict[str, str] | None = None, folder: Path | None = None
    ) -> Dag:
        target = folder or tmp_path / definition.get("name", "dag")
        path = write_dag(target, definition, scripts)
        dag, _ = save_definition(load_definition_file(path), source_path=str(path))
        return dag

    return make


def wait_for_run(run: DagRun, timeout: float = RUN_TIMEOUT, states=RUN_TERMINAL) -> DagRun:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run.refresh_from_db()
        if run.state in states:
            return run
        time.sleep(0.05)
    node_states = dict(run.node_runs.values_list("node_id", "state"))
    events = list(run.events.values_list("message", flat=True))
    raise AssertionError(f"run {run.pk} still {run.state} after {timeout}s: {node_states} {events}")


def wait_until(condition: Callable[[], bool], timeout: float = RUN_TIMEOUT, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"not true within {timeout}s: {what}")
