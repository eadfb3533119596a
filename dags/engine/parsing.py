"""Turning YAML, JSON or already-parsed data into a ``DagDefinition``, noting every problem.

The format itself is described in ``dags.engine.definition``. Parsing checks shape and types
only: unknown keys (a typo such as ``dependsOn`` is an error naming the key, never silently
ignored), values of the wrong type, duplicate keys. Ranges, the graph and the files are judged by
``dags.engine.validation`` once the shape is right.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import fields
from pathlib import Path
from types import MappingProxyType
from typing import Any

import yaml

from dags.engine.definition import (
    EMPTY_MAPPING,
    RESOURCE_KEYS,
    DagDefinition,
    FailurePolicy,
    NodeSpec,
    Resources,
    RetryPolicy,
    RunMode,
)
from dags.engine.errors import (
    BAD_FAILURE_POLICY,
    BAD_JITTER,
    BAD_MAX_ACTIVE_RUNS,
    BAD_RETRIES,
    BAD_RUN_MODE,
    DUPLICATE_KEY,
    EMPTY_COMMAND,
    NO_NODES,
    NODE_WITHOUT_ID,
    NOT_A_MAPPING,
    SHELL_NEEDS_STRING,
    SYNTAX_ERROR,
    THRESHOLD_NOT_NUMBER,
    UNKNOWN_KEY,
    UNREADABLE,
    UNSUPPORTED_SUFFIX,
    WRONG_TYPE,
    DefinitionError,
)

SEED_SCRIPTS_DIR = "process_files"
"""Where a node without a command finds its script, when that folder sits beside the file."""

JITTER_WHEN_TRUE = 0.5
"""``jitter: true`` shortens each retry delay by up to half, at random."""

DAG_KEYS: tuple[str, ...] = (
    "name",
    "description",
    "labels",
    "deadline_seconds",
    "resources",
    "max_active_runs",
    "schedule",
    "failure_policy",
    "nodes",
    "autoclone",
    "run_mode",
    "min_run_interval_seconds",
)
NODE_KEYS: tuple[str, ...] = (
    "id",
    "command",
    "in",
    "env",
    "timeout_seconds",
    "queue_timeout_seconds",
    "retry",
    "queue",
    "description",
    "resources",
    "shell",
)
RETRY_KEYS: tuple[str, ...] = tuple(f.name for f in fields(RetryPolicy))


def parse_data(
    data: Mapping[str, Any], *, source: str, folder: Path, default_name: str
) -> DagDefinition:
    """See ``dags.engine.definition.parse_definition``."""
    reader = _Reader(folder=folder)
    definition = reader.dag(data, default_name=default_name, source=source)
    if reader.problems or definition is None:
        raise DefinitionError(source, reader.problems)
    return definition


def load_file(path: Path, *, default_name: str | None = None) -> DagDefinition:
    """See ``dags.engine.definition.load_definition_file``."""
    data = read_definition_data(path)
    folder = path.parent.resolve()
    name = default_name if default_name is not None else folder.name
    return parse_data(data, source=str(path), folder=folder, default_name=name)


def read_definition_data(path: Path) -> Any:
    """Parse a definition file into plain data, refusing duplicate keys instead of keeping one.

    Both PyYAML and ``json`` silently keep the last of two equal keys, which would quietly drop
    a node; here that is an error like any other.
    """
    source = str(path)
    suffix = path.suffix.lower()
    if suffix not in {".yaml", ".yml", ".json"}:
        raise DefinitionError(source, [UNSUPPORTED_SUFFIX.format(suffix=path.suffix)])
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise DefinitionError(source, [UNREADABLE.format(reason=exc)]) from exc
    try:
        if suffix == ".json":
            return json.loads(text, object_pairs_hook=_json_object)
        return yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 - a SafeLoader subclass
    except _DuplicateKey as exc:
        raise DefinitionError(source, [DUPLICATE_KEY.format(key=exc.key)]) from exc
    except json.JSONDecodeError as exc:
        raise DefinitionError(source, [SYNTAX_ERROR.format(language="JSON", reason=exc)]) from exc
    except yaml.YAMLError as exc:
        reason = " ".join(str(exc).split())
        raise DefinitionError(
            source, [SYNTAX_ERROR.format(language="YAML", reason=reason)]
        ) from exc


class _DuplicateKey(Exception):
    def __init__(self, key: object) -> None:
        super().__init__(key)
        self.key = key


def _json_object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _DuplicateKey(key)
        result[key] = value
    return result


class _UniqueKeyLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """A safe loader that refuses a mapping with the same key twice. It reads with libyaml
    where PyYAML was built with it (ten times faster on a 10,000-node file); the duplicate
    check is the same Python constructor either way."""


def _construct_unique_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    seen: set[Any] = set()
    for key_node, _value_node in node.value:
        key = loader.construct_object(key_node)
        try:
            if key in seen:
                raise _DuplicateKey(key)
            seen.add(key)
        except TypeError:
            continue  # an unhashable key: construct_mapping below reports it with its line

    return loader.construct_mapping(node)


_UniqueKeyLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_unique_mapping
)


def _is_number(value: Any) -> bool:
    # YAML turns `yes` into True; a boolean threshold is a mistake, not the number 1.
    return isinstance(value, int | float) and not isinstance(value, bool)


class _Reader:
    """Walks the raw data once, converting what it can and noting every problem it meets."""

    def __init__(self, *, folder: Path) -> None:
        self.folder = folder
        self.problems: list[str] = []

    def problem(self, template: str, **values: Any) -> None:
        self.problems.append(template.format(**values))

    def known_keys(self, where: str, data: Mapping[str, Any], allowed: Iterable[str]) -> None:
        allowed = tuple(allowed)
        for key in data:
            if key not in allowed:
                self.problem(UNKNOWN_KEY, where=where, key=key, allowed=", ".join(allowed))

    def dag(self, data: Any, *, default_name: str, source: str) -> DagDefinition | None:
        if not isinstance(data, Mapping):
            self.problem(NOT_A_MAPPING, where="DAG", value=data)
            return None
        where = "DAG"
        self.known_keys(where, data, DAG_KEYS)
        name = self.text(where, data, "name", default=default_name)
        description = self.text(where, data, "description", default="")
        labels = self.string_map(where, data, "labels")
        deadline = self.seconds(where, data, "deadline_seconds")
        resources = self.resources(where, data.get("resources"), Resources())
        max_active_runs = data.get("max_active_runs", 1)
        if not isinstance(max_active_runs, int) or isinstance(max_active_runs, bool):
            self.problem(BAD_MAX_ACTIVE_RUNS, value=max_active_runs)
            max_active_runs = 1
        schedule = self.text(where, data, "schedule", default=None)
        failure_policy = FailurePolicy.STOP
        raw_policy = data.get("failure_policy", FailurePolicy.STOP.value)
        if raw_policy is not None:
            try:
                failure_policy = FailurePolicy(raw_policy)
            except ValueError:
                self.problem(BAD_FAILURE_POLICY, value=raw_policy)
        run_mode = RunMode.SCHEDULE
        raw_mode = data.get("run_mode", RunMode.SCHEDULE.value)
        if raw_mode is not None:
            try:
                run_mode = RunMode(raw_mode)
            except ValueError:
                self.problem(BAD_RUN_MODE, value=raw_mode)
        min_interval = self.seconds(where, data, "min_run_interval_seconds")
        autoclone = data.get("autoclone")
        if autoclone is not None and not isinstance(autoclone, Mapping):
            self.problem(
                WRONG_TYPE, where=where, key="autoclone", expected="a mapping", value=autoclone
            )
            autoclone = None
        nodes = self.nodes(data.get("nodes"), resources)
        return DagDefinition(
            name=name or "",
            nodes=nodes,
            folder=self.folder,
            source=source,
            description=description or "",
            labels=labels,
            deadline_seconds=deadline,
            resources=resources,
            max_active_runs=max_active_runs,
            schedule=schedule,
            failure_policy=failure_policy,
            autoclone=MappingProxyType(dict(autoclone)) if autoclone is not None else None,
            run_mode=run_mode,
            min_run_interval_seconds=min_interval,
        )

    def nodes(self, raw: Any, dag_resources: Resources) -> tuple[NodeSpec, ...]:
        entries: list[tuple[str, Any]] = []
        if isinstance(raw, Mapping):
            for node_id, spec in raw.items():
                if not isinstance(node_id, str):
                    self.problem(
                        WRONG_TYPE, where="DAG", key="a node id", expected="a string", value=node_id
                    )
                    continue
                if isinstance(spec, Mapping) and "id" in spec:
                    # In the mapping form the key is the id; a second one could only disagree.
                    self.problem(
                        UNKNOWN_KEY,
                        where=f"node {node_id!r}",
                        key="id",
                        allowed=", ".join(k for k in NODE_KEYS if k != "id"),
                    )
                entries.append((node_id, {} if spec is None else spec))
        elif isinstance(raw, list):
            for position, spec in enumerate(raw, start=1):
                if not isinstance(spec, Mapping):
                    self.problem(NOT_A_MAPPING, where=f"node #{position}", value=spec)
                    continue
                node_id = spec.get("id")
                if node_id is None:
                    self.problem(NODE_WITHOUT_ID, position=position)
                    continue
                if not isinstance(node_id, str):
                    self.problem(
                        WRONG_TYPE,
                        where=f"node #{position}",
                        key="id",
                        expected="a string",
                        value=node_id,
                    )
                    continue
                entries.append((node_id, spec))
        elif raw is not None:
            self.problem(
                WRONG_TYPE, where="DAG", key="nodes", expected="a list or a mapping", value=raw
            )
            return ()
        if not entries:
            self.problems.append(NO_NODES)
            return ()
        return tuple(
            spec
            for node_id, raw_spec in entries
            if (spec := self.node(node_id, raw_spec, dag_resources)) is not None
        )

    def node(self, node_id: str, data: Any, dag_resources: Resources) -> NodeSpec | None:
        where = f"node {node_id!r}"
        if not isinstance(data, Mapping):
            self.problem(NOT_A_MAPPING, where=where, value=data)
            return None
        self.known_keys(where, data, NODE_KEYS)
        shell = data.get("shell", False)
        if not isinstance(shell, bool):
            self.problem(
                WRONG_TYPE, where=where, key="shell", expected="true or false", value=shell
            )
            shell = False
        command = self.command(where, node_id, data, shell=shell)
        prerequisites = self.string_list(where, data, "in")
        return NodeSpec(
            id=node_id,
            command=command,
            prerequisites=prerequisites,
            env=self.string_map(where, data, "env"),
            timeout_seconds=self.seconds(where, data, "timeout_seconds"),
            queue_timeout_seconds=self.seconds(where, data, "queue_timeout_seconds"),
            retry=self.retry(where, data.get("retry")),
            queue=self.text(where, data, "queue", default=None),
            description=self.text(where, data, "description", default="") or "",
            resources=self.resources(where, data.get("resources"), dag_resources),
            shell=shell,
        )

    def command(
        self, where: str, node_id: str, data: Mapping[str, Any], *, shell: bool
    ) -> str | tuple[str, ...]:
        if "command" not in data:
            if (self.folder / SEED_SCRIPTS_DIR).is_dir():
                return f"{SEED_SCRIPTS_DIR}/{node_id}"
            return node_id
        raw = data["command"]
        if isinstance(raw, str):
            if not raw.strip():
                self.problem(EMPTY_COMMAND, where=where)
            return raw
        if isinstance(raw, list) and all(isinstance(item, str) for item in raw):
            if not raw:
                self.problem(EMPTY_COMMAND, where=where)
            elif shell:
                self.problem(SHELL_NEEDS_STRING, where=where)
            return tuple(raw)
        self.problem(
            WRONG_TYPE,
            where=where,
            key="command",
            expected="a script path or a list of strings",
            value=raw,
        )
        return node_id

    def text(
        self, where: str, data: Mapping[str, Any], key: str, *, default: str | None
    ) -> str | None:
        value = data.get(key, default)
        if value is None or isinstance(value, str):
            return value
        self.problem(WRONG_TYPE, where=where, key=key, expected="a string", value=value)
        return default

    def seconds(self, where: str, data: Mapping[str, Any], key: str) -> float | None:
        value = data.get(key)
        if value is None:
            return None
        if not _is_number(value):
            self.problem(
                WRONG_TYPE,
                where=where,
                key=key,
                expected="a number of seconds or null",
                value=value,
            )
            return None
        return float(value)

    def string_list(self, where: str, data: Mapping[str, Any], key: str) -> tuple[str, ...]:
        value = data.get(key)
        if value is None:
            return ()
        if isinstance(value, list) and all(isinstance(item, str) for item in value):
            # A name listed twice is one prerequisite, not two.
            return tuple(dict.fromkeys(value))
        self.problem(WRONG_TYPE, where=where, key=key, expected="a list of node ids", value=value)
        return ()

    def string_map(self, where: str, data: Mapping[str, Any], key: str) -> Mapping[str, str]:
        value = data.get(key)
        if value is None:
            return EMPTY_MAPPING
        if not isinstance(value, Mapping):
            self.problem(
                WRONG_TYPE, where=where, key=key, expected="a mapping of strings", value=value
            )
            return EMPTY_MAPPING
        result: dict[str, str] = {}
        for item_key, item in value.items():
            # Numbers read naturally as strings (PORT: 8080); booleans do not (YAML's `yes`).
            if isinstance(item_key, str) and (isinstance(item, str) or _is_number(item)):
                result[item_key] = str(item)
            else:
                self.problem(
                    WRONG_TYPE,
                    where=where,
                    key=f"{key}.{item_key}",
                    expected="a string",
                    value=item,
                )
        return MappingProxyType(result)

    def resources(self, where: str, raw: Any, base: Resources) -> Resources:
        if raw is None:
            return base
        if not isinstance(raw, Mapping):
            self.problem(WRONG_TYPE, where=where, key="resources", expected="a mapping", value=raw)
            return base
        self.known_keys(f"{where} resources", raw, RESOURCE_KEYS)
        values: dict[str, float | None] = {key: getattr(base, key) for key in RESOURCE_KEYS}
        for key in RESOURCE_KEYS:
            if key not in raw:
                continue
            value = raw[key]
            if value is None:
                values[key] = None
            elif _is_number(value):
                values[key] = float(value)
            else:
                self.problem(THRESHOLD_NOT_NUMBER, where=where, key=key, value=value)
        return Resources(**values)

    def retry(self, where: str, raw: Any) -> RetryPolicy:
        if raw is None:
            return RetryPolicy()
        if not isinstance(raw, Mapping):
            self.problem(WRONG_TYPE, where=where, key="retry", expected="a mapping", value=raw)
            return RetryPolicy()
        self.known_keys(f"{where} retry", raw, RETRY_KEYS)
        retries = raw.get("retries", 0)
        if not isinstance(retries, int) or isinstance(retries, bool):
            self.problem(BAD_RETRIES, where=where, value=retries)
            retries = 0
        numbers: dict[str, float | None] = {}
        for key, default in (("delay_seconds", 0.0), ("backoff", 1.0), ("max_delay_seconds", None)):
            value = raw.get(key, default)
            if value is None and key == "max_delay_seconds":
                numbers[key] = None
            elif _is_number(value):
                numbers[key] = float(value)
            else:
                self.problem(
                    WRONG_TYPE, where=where, key=f"retry.{key}", expected="a number", value=value
                )
                numbers[key] = default
        jitter_raw = raw.get("jitter", False)
        if isinstance(jitter_raw, bool):
            jitter = JITTER_WHEN_TRUE if jitter_raw else 0.0
        elif _is_number(jitter_raw):
            jitter = float(jitter_raw)
        else:
            self.problem(BAD_JITTER, where=where, value=jitter_raw)
            jitter = 0.0
        return RetryPolicy(
            retries=retries,
            delay_seconds=numbers["delay_seconds"] or 0.0,
            backoff=numbers["backoff"] if numbers["backoff"] is not None else 1.0,
            max_delay_seconds=numbers["max_delay_seconds"],
            jitter=jitter,
        )
