"""What a DAG definition says, as frozen dataclasses, and how a file becomes one.

Dagyard's own format (YAML or JSON)::

    name: etl                       # default: the folder's name (or the file's, see the loader)
    description: Nightly extract, transform, load.
    labels: {team: data}
    schedule: "0 2 * * *"           # cron, or null for manual runs only
    deadline_seconds: 3600          # bounds the whole run, waits included; null for none
    max_active_runs: 1
    failure_policy: stop            # stop (default) | continue
    run_mode: schedule              # schedule (default: runs on its cron, if any) | continuous
    min_run_interval_seconds: 60    # continuous: at least this long between two runs' starts
    resources: {cpu_percent: 80, memory_percent: 75, disk_free_mb: 1024, load_avg_1m: 4.0}
    nodes:
      - id: extract
        command: scripts/extract.py           # relative to this file's folder
      - id: transform
        command: [scripts/transform.sh, --fast]
        in: [extract]
        env: {MODE: fast}
        timeout_seconds: 600                  # how long it may run
        queue_timeout_seconds: 300            # how long it may wait before it starts
        retry: {retries: 3, delay_seconds: 10, backoff: 2, max_delay_seconds: 300, jitter: 0.2}
        queue: heavy
        resources: {cpu_percent: 95}          # overrides the DAG's, key by key; null skips
      - id: report
        command: "scripts/report.sh | tee report.txt"
        shell: true                           # only then does a string go through /bin/sh
        in: [transform]

``nodes`` may also be a mapping of id to spec (``nodes: {extract: {command: ...}}``). A node
without ``command`` runs the script named by its id, from a ``process_files/`` folder beside the
definition when there is one, else from the definition's own folder. That is what lets the
original ``config.json`` of the Directed Graph System load unchanged::

    {"deadline_seconds": 3600, "resources": {"cpu_percent": 80},
     "nodes": {"file1.py": {"in": []}, "file2.py": {"in": ["file1.py"]}}}

A string command names a script: a ``.py`` script runs with the interpreter the worker is given
by absolute path, any other script runs directly. An argument list runs as given. Run parameters
never enter a command line; workers pass them as environment values.

``parse_definition`` checks shape and types (unknown keys, wrong types) and reports every such
problem at once; ``dags.engine.validation.validate`` checks values, the graph and the files. The
parser itself lives in ``dags.engine.parsing``; this module holds what it produces.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from enum import StrEnum
from pathlib import Path, PurePosixPath
from types import MappingProxyType
from typing import Any

from dags.engine.errors import SHELL_NEEDS_STRING

SHELL = "/bin/sh"
"""The shell for ``shell: true`` nodes, by absolute path so PATH cannot swap it."""

EMPTY_MAPPING: Mapping[str, str] = MappingProxyType({})
"""A read-only empty mapping, shared: frozen definitions must not hand out a mutable dict."""


def _empty_mapping() -> Mapping[str, str]:
    return EMPTY_MAPPING


class RunMode(StrEnum):
    """How a started (not paused) DAG keeps producing runs."""

    SCHEDULE = "schedule"
    """A run at each fire time of its cron schedule; none without a schedule."""
    CONTINUOUS = "continuous"
    """A new run as soon as the last one ends, at least ``min_run_interval_seconds`` after the
    last one started."""


class FailurePolicy(StrEnum):
    """What a run does when one of its nodes fails for good."""

    STOP = "stop"
    """Stop the run: in-flight nodes are cancelled, nodes that depend on the failed one are
    marked upstream-failed and every other pending node is cancelled. The seed's behaviour."""
    CONTINUE = "continue"
    """Let branches that do not depend on the failed node finish; only its dependants are marked
    upstream-failed. The run still ends failed."""


@dataclass(frozen=True, slots=True)
class Resources:
    """Host thresholds a node waits for before it launches. ``None`` skips that check."""

    cpu_percent: float | None = None
    """Launch only while average CPU use is at or below this percentage."""
    memory_percent: float | None = None
    """Launch only while memory use is at or below this percentage."""
    disk_free_mb: float | None = None
    """Launch only while at least this many MiB are free in the DAG's folder."""
    load_avg_1m: float | None = None
    """Launch only while the one-minute load average is at or below this (skipped off Unix)."""

    @property
    def is_unbounded(self) -> bool:
        """True when no check applies, so a worker can skip sampling altogether."""
        return all(getattr(self, f.name) is None for f in fields(self))

    def to_data(self) -> dict[str, float | None]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


RESOURCE_KEYS: tuple[str, ...] = tuple(f.name for f in fields(Resources))
PERCENT_KEYS: frozenset[str] = frozenset({"cpu_percent", "memory_percent"})


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often and how patiently a failed node is tried again."""

    retries: int = 0
    """Attempts after the first; 0 means a failure is final."""
    delay_seconds: float = 0.0
    """Delay before the first retry."""
    backoff: float = 1.0
    """Each further retry waits this many times longer than the one before."""
    max_delay_seconds: float | None = None
    """No retry waits longer than this; ``None`` leaves only the engine's ceiling."""
    jitter: float = 0.0
    """Fraction (0 to 1) by which each delay is shortened at random, so retries spread out."""

    def to_data(self) -> dict[str, float | int | None]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass(frozen=True, slots=True)
class NodeSpec:
    """One node: what it runs, what it waits for, and the limits it runs under."""

    id: str
    command: str | tuple[str, ...]
    """A script path relative to the DAG folder, a shell string (``shell``) or an argument list."""
    prerequisites: tuple[str, ...] = ()
    """Ids of the nodes that must succeed (or be skipped) first; ``in`` in a definition file."""
    env: Mapping[str, str] = field(default_factory=_empty_mapping, hash=False)
    timeout_seconds: float | None = None
    """How long it may run before its process group is killed."""
    queue_timeout_seconds: float | None = None
    """How long it may wait, queued or for resources, before it starts."""
    retry: RetryPolicy = RetryPolicy()
    queue: str | None = None
    """The Celery queue it goes to; ``None`` for the default queue."""
    description: str = ""
    resources: Resources = Resources()
    """The thresholds in force for this node: the DAG's, with this node's overrides applied."""
    shell: bool = False
    """Only when true does a string command run through ``/bin/sh -c``."""

    @property
    def script(self) -> str | None:
        """The path inside the DAG folder this node runs, when it runs a file from there.

        A string command is always such a path. An argument list names one only when its first
        item is a relative path with a ``/`` in it (``./tool.sh``, ``bin/tool``); a bare name is
        a program found on the worker's PATH, as the list form promises to run it as given.
        """
        if self.shell:
            return None
        if isinstance(self.command, str):
            return self.command
        if self.command:
            first = self.command[0]
            if "/" in first and not os.path.isabs(first):
                return first
        return None

    def argv(self, python_executable: str, *, folder: Path | None = None) -> list[str]:
        """The argument list that runs this node, never looked up through a bare ``python3``.

        ``python_executable`` must be absolute: a ``.py`` script runs with exactly that
        interpreter. With ``folder`` the script path is made absolute; without it the path stays
        relative to the DAG folder (the worker's working directory) and gains a ``./`` prefix
        where needed, so the operating system never searches PATH for a script.
        """
        if not os.path.isabs(python_executable):
            raise ValueError(
                f"python_executable must be an absolute path, got {python_executable!r}"
            )
        if self.shell:
            if not isinstance(self.command, str):
                raise ValueError(SHELL_NEEDS_STRING.format(where=f"node {self.id!r}"))
            return [SHELL, "-c", self.command]
        if not isinstance(self.command, str):
            return list(self.command)
        if folder is not None:
            path = str(folder / self.command)
        elif os.path.isabs(self.command):
            path = self.command
        else:
            path = f"./{PurePosixPath(self.command)}"
        if self.command.endswith(".py"):
            return [python_executable, path]
        return [path]

    def to_data(self) -> dict[str, Any]:
        """This node in Dagyard's format, JSON-safe, so a run can keep the exact spec it ran."""
        return {
            "id": self.id,
            "command": self.command if isinstance(self.command, str) else list(self.command),
            "in": list(self.prerequisites),
            "env": dict(self.env),
            "timeout_seconds": self.timeout_seconds,
            "queue_timeout_seconds": self.queue_timeout_seconds,
            "retry": self.retry.to_data(),
            "queue": self.queue,
            "description": self.description,
            "resources": self.resources.to_data(),
            "shell": self.shell,
        }


@dataclass(frozen=True, slots=True)
class DagDefinition:
    """A whole DAG as written, before validation; ``validate`` turns it into a ``Graph``."""

    name: str
    nodes: tuple[NodeSpec, ...]
    folder: Path
    """The folder scripts are relative to, and the working directory of every node."""
    source: str
    """Where it came from (a file path, or the admin), for error messages."""
    description: str = ""
    labels: Mapping[str, str] = field(default_factory=_empty_mapping, hash=False)
    deadline_seconds: float | None = None
    resources: Resources = Resources()
    max_active_runs: int = 1
    schedule: str | None = None
    failure_policy: FailurePolicy = FailurePolicy.STOP
    autoclone: Mapping[str, Any] | None = field(default=None, hash=False)
    """Passed through untouched; the AutoClone code validates and reads it."""
    run_mode: RunMode = RunMode.SCHEDULE
    min_run_interval_seconds: float | None = None

    def nodes_by_id(self) -> dict[str, NodeSpec]:
        """Node id to spec; build it once per use site, it is not cached on the frozen object."""
        return {node.id: node for node in self.nodes}

    def to_data(self) -> dict[str, Any]:
        """This DAG in Dagyard's format, JSON-safe; ``parse_definition`` reads it back equal."""
        data: dict[str, Any] = {
            "name": self.name,
            "description": self.description,
            "labels": dict(self.labels),
            "deadline_seconds": self.deadline_seconds,
            "resources": self.resources.to_data(),
            "max_active_runs": self.max_active_runs,
            "schedule": self.schedule,
            "failure_policy": self.failure_policy.value,
            "nodes": [node.to_data() for node in self.nodes],
        }
        if self.autoclone is not None:
            data["autoclone"] = _plain(self.autoclone)
        # Written only when set, so definitions saved before run modes keep their hash.
        if self.run_mode is not RunMode.SCHEDULE:
            data["run_mode"] = self.run_mode.value
        if self.min_run_interval_seconds is not None:
            data["min_run_interval_seconds"] = self.min_run_interval_seconds
        return data


def parse_definition(
    data: Mapping[str, Any], *, source: str, folder: Path, default_name: str
) -> DagDefinition:
    """Build a ``DagDefinition`` from parsed YAML or JSON, or raise every shape problem at once.

    ``folder`` is the DAG's folder; ``default_name`` names a DAG whose data has no ``name``.
    """
    # Imported here because the parser builds the classes above: a top-level import would be
    # circular.
    from dags.engine.parsing import parse_data

    return parse_data(data, source=source, folder=folder, default_name=default_name)


def load_definition_file(path: Path, *, default_name: str | None = None) -> DagDefinition:
    """Read a ``.yaml``, ``.yml`` or ``.json`` definition; its folder is the DAG's folder.

    Without ``default_name`` a DAG with no ``name`` takes its folder's name; the folder loader
    passes the file's stem instead when several definitions share a folder.
    """
    from dags.engine.parsing import load_file

    return load_file(path, default_name=default_name)


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    return value
