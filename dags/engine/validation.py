"""Everything that makes a parsed definition unusable, found in one pass and reported together.

``validate`` is the single gate: the folder loader, the admin form and ``dagyard dags validate``
all call it, so a DAG accepted in one place is accepted everywhere. It checks values (thresholds,
durations, retry settings, cron), node ids, prerequisites, cycles and scripts, and raises one
``DefinitionError`` listing every problem, each naming the node it concerns.
"""

from __future__ import annotations

import graphlib
import math
import os
import re
from pathlib import Path

from croniter import croniter

from dags.engine.definition import (
    PERCENT_KEYS,
    RESOURCE_KEYS,
    DagDefinition,
    NodeSpec,
    Resources,
    RetryPolicy,
    load_definition_file,
)
from dags.engine.errors import (
    BAD_BACKOFF,
    BAD_CRON,
    BAD_DURATION,
    BAD_JITTER,
    BAD_MAX_ACTIVE_RUNS,
    BAD_NAME,
    BAD_NODE_ID,
    BAD_RETRIES,
    BAD_RETRY_SECONDS,
    CYCLE,
    DUPLICATE_NODE,
    NO_NODES,
    SCRIPT_MISSING,
    SCRIPT_NOT_EXECUTABLE,
    SCRIPT_OUTSIDE_FOLDER,
    SHELL_NEEDS_STRING,
    THRESHOLD_NEGATIVE,
    THRESHOLD_NOT_NUMBER,
    THRESHOLD_NOT_PERCENT,
    UNKNOWN_PREREQUISITE,
    DefinitionError,
)
from dags.engine.graph import Graph, GraphCycleError

__all__ = ["DefinitionError", "find_cycle", "validate", "validate_file"]

NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,199}")
"""Names and ids end up in URLs, queue routing and environment values: keep them plain. The
messages ``BAD_NAME`` and ``BAD_NODE_ID`` spell this pattern out for users."""


def validate(definition: DagDefinition, *, check_files: bool = True) -> Graph:
    """Return the definition's ``Graph``, or raise ``DefinitionError`` with every problem found.

    ``check_files=False`` skips what needs the disk (a script exists, is executable) for callers
    that validate before the files arrive; a script path escaping the folder is refused always.
    """
    problems: list[str] = []
    problems.extend(_dag_value_problems(definition))
    known: set[str] = set()
    for node in definition.nodes:
        if node.id in known:
            problems.append(DUPLICATE_NODE.format(node=node.id))
        known.add(node.id)
        problems.extend(_node_problems(node, definition, check_files=check_files))
    for node in definition.nodes:
        for missing in node.prerequisites:
            if missing not in known:
                problems.append(UNKNOWN_PREREQUISITE.format(node=node.id, missing=missing))
    graph: Graph | None = None
    try:
        graph = Graph.build(
            (node.id, [parent for parent in node.prerequisites if parent in known])
            for node in definition.nodes
        )
    except GraphCycleError:
        # Only now pay for graphlib, whose CycleError carries the cycle to print.
        cycle = find_cycle(definition)
        if cycle is not None:
            problems.append(CYCLE.format(cycle=" -> ".join(cycle)))
    if problems or graph is None:
        raise DefinitionError(definition.source, problems)
    return graph


def validate_file(path: Path, *, default_name: str | None = None) -> tuple[DagDefinition, Graph]:
    """Load and validate one file: what ``dagyard dags validate FILE`` and the loader run.

    Shape problems (unknown keys, wrong types) are reported first, on their own: the values and
    the graph can only be judged once the file has the right shape.
    """
    definition = load_definition_file(path, default_name=default_name)
    return definition, validate(definition)


def find_cycle(definition: DagDefinition) -> list[str] | None:
    """A cycle among known nodes as ``[a, b, c, a]`` (each runs before the next), or ``None``.

    The cycle is rotated to start at its earliest-defined node so the message is the same on
    every run, whichever node ``graphlib`` happened to find first.
    """
    ids = {node.id for node in definition.nodes}
    sorter: graphlib.TopologicalSorter[str] = graphlib.TopologicalSorter()
    for node in definition.nodes:
        sorter.add(node.id, *(parent for parent in node.prerequisites if parent in ids))
    try:
        sorter.prepare()
    except graphlib.CycleError as exc:
        found: list[str] = list(exc.args[1])[:-1]
        position: dict[str, int] = {}
        for index, node in enumerate(definition.nodes):
            position.setdefault(node.id, index)
        start = min(range(len(found)), key=lambda i: position[found[i]])
        rotated = found[start:] + found[:start]
        return [*rotated, rotated[0]]
    return None


def _dag_value_problems(definition: DagDefinition) -> list[str]:
    problems: list[str] = []
    if not NAME_PATTERN.fullmatch(definition.name):
        problems.append(BAD_NAME.format(value=definition.name))
    if not definition.nodes:
        problems.append(NO_NODES)
    problems.extend(_duration_problems("DAG", "deadline_seconds", definition.deadline_seconds))
    problems.extend(_resource_problems("DAG", definition.resources))
    runs = definition.max_active_runs
    if not isinstance(runs, int) or isinstance(runs, bool) or runs < 1:
        problems.append(BAD_MAX_ACTIVE_RUNS.format(value=runs))
    if definition.schedule is not None and not _is_cron(definition.schedule):
        problems.append(BAD_CRON.format(value=definition.schedule))
    return problems


def _is_cron(expression: str) -> bool:
    # croniter also takes a sixth (seconds) field; beat schedules by the minute, so five it is,
    # unless the expression is one of the @hourly/@daily shorthands.
    if not expression.startswith("@") and len(expression.split()) != 5:
        return False
    return bool(croniter.is_valid(expression))


DEFAULT_RETRY = RetryPolicy()


def _node_problems(node: NodeSpec, definition: DagDefinition, *, check_files: bool) -> list[str]:
    where = f"node {node.id!r}"
    problems: list[str] = []
    if not NAME_PATTERN.fullmatch(node.id):
        problems.append(BAD_NODE_ID.format(node=node.id))
    if node.shell and not isinstance(node.command, str):
        problems.append(SHELL_NEEDS_STRING.format(where=where))
    problems.extend(_duration_problems(where, "timeout_seconds", node.timeout_seconds))
    problems.extend(_duration_problems(where, "queue_timeout_seconds", node.queue_timeout_seconds))
    if node.retry != DEFAULT_RETRY:
        problems.extend(_retry_problems(where, node.retry))
    # A node's thresholds include those it inherits; a bad DAG threshold is reported once.
    problems.extend(_resource_problems(where, node.resources, inherited=definition.resources))
    script = node.script
    if script:
        problems.extend(_script_problems(node, script, definition.folder, check_files=check_files))
    return problems


def _script_problems(node: NodeSpec, script: str, folder: Path, *, check_files: bool) -> list[str]:
    root = folder.resolve()
    # resolve() follows symlinks and folds `..`, so neither can smuggle a path out of the folder.
    target = (root / script).resolve()
    if not target.is_relative_to(root):
        return [SCRIPT_OUTSIDE_FOLDER.format(node=node.id, script=script)]
    if not check_files:
        return []
    if not target.is_file():
        return [SCRIPT_MISSING.format(node=node.id, script=script)]
    runs_directly = not (isinstance(node.command, str) and script.endswith(".py"))
    if runs_directly and not os.access(target, os.X_OK):
        return [SCRIPT_NOT_EXECUTABLE.format(node=node.id, script=script)]
    return []


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _duration_problems(where: str, key: str, value: float | None) -> list[str]:
    if value is None or (_is_number(value) and value > 0):
        return []
    return [BAD_DURATION.format(where=where, key=key, value=value)]


def _resource_problems(
    where: str, resources: Resources, *, inherited: Resources | None = None
) -> list[str]:
    problems: list[str] = []
    for key in RESOURCE_KEYS:
        value = getattr(resources, key)
        if value is None:
            continue
        if inherited is not None:
            base = getattr(inherited, key)
            if value is base or value == base:
                continue
        if not _is_number(value):
            problems.append(THRESHOLD_NOT_NUMBER.format(where=where, key=key, value=value))
        elif key in PERCENT_KEYS and not 0 <= value <= 100:
            problems.append(THRESHOLD_NOT_PERCENT.format(where=where, key=key, value=value))
        elif value < 0:
            problems.append(THRESHOLD_NEGATIVE.format(where=where, key=key, value=value))
    return problems


def _retry_problems(where: str, retry: RetryPolicy) -> list[str]:
    problems: list[str] = []
    retries = retry.retries
    if not isinstance(retries, int) or isinstance(retries, bool) or retries < 0:
        problems.append(BAD_RETRIES.format(where=where, value=retries))
    for key in ("delay_seconds", "max_delay_seconds"):
        value = getattr(retry, key)
        if value is None and key == "max_delay_seconds":
            continue
        if not _is_number(value) or value < 0:
            problems.append(BAD_RETRY_SECONDS.format(where=where, key=key, value=value))
    if not _is_number(retry.backoff) or retry.backoff < 1:
        problems.append(BAD_BACKOFF.format(where=where, value=retry.backoff))
    if not _is_number(retry.jitter) or not 0 <= retry.jitter <= 1:
        problems.append(BAD_JITTER.format(where=where, value=retry.jitter))
    return problems
