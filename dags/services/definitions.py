"""Definitions in and out of the database: load a folder, save a DAG, compile a run's copy."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.db import transaction

from dags.engine.definition import DagDefinition, NodeSpec, parse_definition
from dags.engine.errors import DefinitionError
from dags.engine.graph import Graph
from dags.engine.parsing import read_definition_data
from dags.engine.validation import validate, validate_file
from dags.errors import DagError
from dags.models import Dag, DagRun
from dags.services.run_memo import RunMemo

DEFINITION_SUFFIXES = (".yaml", ".yml", ".json")
NOT_A_MAPPING = "the definition must be a mapping (YAML or JSON) with a 'nodes' key"
FOLDER_MISSING = "the folder {folder} does not exist on this server"
RENAME_REFUSED = "a DAG cannot be renamed (from {old!r} to {new!r}): create a new one instead"


class SubmissionRefused(DagError):
    """A definition sent from a form or the API that cannot be used; `field` says where."""

    def __init__(self, field: str, problems: list[str]) -> None:
        self.field = field
        self.problems = problems
        super().__init__("; ".join(problems))


@dataclass(frozen=True)
class CompiledDefinition:
    """A definition with its graph and nodes by id: what executing a run needs, built once."""

    definition: DagDefinition
    graph: Graph
    nodes: dict[str, NodeSpec]


@dataclass
class SyncReport:
    saved: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def compile_definition(definition: DagDefinition, *, check_files: bool) -> CompiledDefinition:
    graph = validate(definition, check_files=check_files)
    return CompiledDefinition(definition, graph, {node.id: node for node in definition.nodes})


def definition_of(data: dict, *, folder: str, source: str, name: str) -> DagDefinition:
    return parse_definition(data, source=source, folder=Path(folder), default_name=name)


def definition_hash(data: dict) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()


def dag_definition(dag: Dag) -> DagDefinition:
    return definition_of(dag.definition, folder=dag.folder, source=f"DAG {dag.name}", name=dag.name)


def compile_run(run: DagRun) -> CompiledDefinition:
    data = run.definition  # one query here when the caller deferred it
    definition = definition_of(data, folder=run.folder, source=f"run {run.pk}", name="run")
    return compile_definition(definition, check_files=False)


# A run's definition never changes, so each worker compiles it once per run.
compiled_run = RunMemo(compile_run).get


def submitted_definition(
    data: object, *, folder: str | None = None, name: str | None = None
) -> DagDefinition:
    """Judge a definition sent by a person exactly as the folder loader judges a file.

    `folder` is where its scripts live (default: the workflow folder's subfolder of its name);
    `name`, when given, is the DAG being replaced, which a definition may not rename.
    """
    if not isinstance(data, dict):
        raise SubmissionRefused("definition", [NOT_A_MAPPING])
    dag_name = str(data.get("name") or name or "")
    target = Path(folder or settings.DAGYARD_DAGS_DIR / dag_name).resolve()
    if not target.is_dir():
        raise SubmissionRefused("folder", [FOLDER_MISSING.format(folder=target)])
    try:
        definition = parse_definition(
            data, source="definition", folder=target, default_name=dag_name
        )
        validate(definition, check_files=True)
    except DefinitionError as error:
        raise SubmissionRefused("definition", error.problems) from error
    if name and definition.name != name:
        raise SubmissionRefused(
            "definition", [RENAME_REFUSED.format(old=name, new=definition.name)]
        )
    return definition


def save_definition(definition: DagDefinition, *, source_path: str = "") -> tuple[Dag, bool]:
    """Validate and store a definition; returns the DAG and whether anything changed."""
    from dags.services.scheduling import sync_schedule

    validate(definition, check_files=True)
    data = definition.to_data()
    digest = definition_hash(data)
    values = {
        "description": definition.description,
        "labels": dict(definition.labels),
        "definition": data,
        "definition_hash": digest,
        "folder": str(definition.folder),
        "source_path": source_path,
        "schedule": definition.schedule or "",
        "max_active_runs": definition.max_active_runs,
    }
    with transaction.atomic():
        dag = Dag.objects.select_for_update().filter(name=definition.name).first()
        if dag is not None and dag.definition_hash == digest and dag.folder == values["folder"]:
            return dag, False
        if dag is None:
            dag = Dag.objects.create(name=definition.name, **values)
        else:
            for key, value in values.items():
                setattr(dag, key, value)
            dag.save()
        sync_schedule(dag)
    return dag, True


def is_definition_file(path: Path) -> bool:
    """A YAML or JSON file is a definition when its top level is a mapping with `nodes`; other
    data files beside the scripts are left alone. An unreadable one counts, so that loading it
    reports its error instead of skipping it in silence."""
    if path.suffix.lower() not in DEFINITION_SUFFIXES or not path.is_file():
        return False
    try:
        data = read_definition_data(path)
    except DefinitionError:
        return True
    return isinstance(data, dict) and "nodes" in data


def default_name_for(path: Path) -> str:
    """The name a definition without `name` takes: its folder's, or its file's when several
    definitions share the folder. `dagyard sync` and `dagyard dags validate` agree on it."""
    if not path.parent.is_dir():
        return path.parent.name
    siblings = [other for other in path.parent.iterdir() if is_definition_file(other)]
    return path.stem if len(siblings) > 1 else path.parent.resolve().name


def definition_files(folder: Path) -> list[tuple[Path, str]]:
    """Every definition file under `folder`, with the name a nameless definition takes."""
    found: list[tuple[Path, str]] = []
    for path in sorted(folder.rglob("*")):
        if any(part.startswith(".") or part == "node_modules" for part in path.parts):
            continue
        if is_definition_file(path):
            found.append((path, default_name_for(path)))
    return found


def sync_folder(folder: Path) -> SyncReport:
    """Load every definition under `folder`; a bad file is reported and changes nothing."""
    report = SyncReport()
    if not folder.is_dir():
        report.errors.append(f"{folder}: the workflow folder does not exist")
        return report
    for path, default_name in definition_files(folder):
        try:
            definition, _graph = validate_file(path, default_name=default_name)
            dag, changed = save_definition(definition, source_path=str(path))
        except DefinitionError as error:
            report.errors.append(str(error))
            continue
        (report.saved if changed else report.unchanged).append(dag.name)
    return report
