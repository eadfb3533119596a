"""The JSON documents Dagyard gives out about DAGs and runs, the same in `--json` output and
in the REST API.

The JSON keys are a contract scripts rely on: keys are only ever added, never renamed or
removed. Times are ISO 8601 with their offset, durations are seconds (to the millisecond), an
absent value is ``null``. Text output is for people and may change; its times are local
(``TIME_ZONE``), to the second, or to the millisecond in logs.

``dags list``: a list of DAGs ``{name, description, schedule, paused, active_runs,
max_active_runs, last_run_id, last_run_state, last_run_at, next_run_at}``.

``dags show``: ``{name, description, labels, folder, source_path, schedule, paused, next_run_at,
deadline_seconds, resources, max_active_runs, active_runs, failure_policy, nodes, recent_runs}``;
``resources`` maps ``cpu_percent``, ``memory_percent``, ``disk_free_mb`` and ``load_avg_1m`` to a
threshold or ``null``; each node is ``{id, description, command, shell, in, queue,
timeout_seconds, queue_timeout_seconds, retries, resources}`` (the thresholds in force for it);
``recent_runs`` are runs as ``runs list`` gives them.

``runs list``: a list of runs ``{id, dag, state, trigger, triggered_by, scheduled_for,
created_at, started_at, finished_at, duration_seconds, error, nodes_total, nodes_done}``.

``runs show`` and ``run --json``: a run as above plus ``params``, ``deadline_at`` and ``nodes``,
each ``{node, state, attempts, queue, worker, started_at, finished_at, duration_seconds,
exit_code, error, pid}`` (``pid`` while it runs, once its worker has recorded it).

``logs RUN``: ``{run, events}``, each event ``{time, level, node, message}``. ``logs RUN NODE``:
``{run, node, state, running_attempt, attempts}``: ``running_attempt`` is ``null`` or ``{number,
worker, pid, started_at}``; each finished attempt is ``{number, worker, started_at,
finished_at, duration_seconds, exit_code, outcome, output, output_truncated}``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from dags.engine.definition import NodeSpec
from dags.models import DagRun, NodeAttempt, NodeRun
from dags.selectors import DagDetail, DagSummary, LogLine
from dags.states import NODE_SATISFIED, NodeState


def iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def seconds(value: float | None) -> float | None:
    """Durations in JSON: seconds, to the millisecond."""
    return round(value, 3) if value is not None else None


def dag_summary_data(summary: DagSummary) -> dict[str, Any]:
    dag = summary.dag
    return {
        "name": dag.name,
        "description": dag.description,
        "schedule": dag.schedule or None,
        "paused": dag.is_paused,
        "active_runs": summary.active_runs,
        "max_active_runs": dag.max_active_runs,
        "last_run_id": summary.last_run_id,
        "last_run_state": summary.last_run_state.value if summary.last_run_state else None,
        "last_run_at": iso(summary.last_run_at),
        "next_run_at": iso(summary.next_run_at),
    }


def node_spec_data(node: NodeSpec) -> dict[str, Any]:
    return {
        "id": node.id,
        "description": node.description,
        "command": node.command if isinstance(node.command, str) else list(node.command),
        "shell": node.shell,
        "in": list(node.prerequisites),
        "queue": node.queue,
        "timeout_seconds": node.timeout_seconds,
        "queue_timeout_seconds": node.queue_timeout_seconds,
        "retries": node.retry.retries,
        "resources": node.resources.to_data(),
    }


def dag_detail_data(detail: DagDetail) -> dict[str, Any]:
    dag, definition = detail.dag, detail.definition
    return {
        "name": dag.name,
        "description": dag.description,
        "labels": dict(definition.labels),
        "folder": dag.folder,
        "source_path": dag.source_path or None,
        "schedule": dag.schedule or None,
        "paused": dag.is_paused,
        "next_run_at": iso(detail.next_run_at),
        "deadline_seconds": definition.deadline_seconds,
        "resources": definition.resources.to_data(),
        "max_active_runs": dag.max_active_runs,
        "active_runs": detail.active_runs,
        "failure_policy": definition.failure_policy.value,
        "nodes": [node_spec_data(node) for node in definition.nodes],
        "recent_runs": [listed_run_data(run) for run in detail.recent_runs],
    }


def run_data(run: DagRun, *, nodes_total: int, nodes_done: int) -> dict[str, Any]:
    return {
        "id": run.pk,
        "dag": run.dag.name,
        "state": run.state,
        "trigger": run.trigger,
        "triggered_by": run.triggered_by,
        "scheduled_for": iso(run.scheduled_for),
        "created_at": iso(run.created_at),
        "started_at": iso(run.started_at),
        "finished_at": iso(run.finished_at),
        "duration_seconds": seconds(run.duration_seconds),
        "error": run.error,
        "nodes_total": nodes_total,
        "nodes_done": nodes_done,
    }


def listed_run_data(run: DagRun) -> dict[str, Any]:
    """A run from ``selectors.runs()``, which annotates its node counts."""
    return run_data(
        run, nodes_total=getattr(run, "nodes_total", 0), nodes_done=getattr(run, "nodes_done", 0)
    )


def node_run_data(node_run: NodeRun) -> dict[str, Any]:
    return {
        "node": node_run.node_id,
        "state": node_run.state,
        "attempts": node_run.attempts,
        "queue": node_run.queue,
        "worker": node_run.worker or None,
        "started_at": iso(node_run.started_at),
        "finished_at": iso(node_run.finished_at),
        "duration_seconds": seconds(node_run.duration_seconds),
        "exit_code": node_run.exit_code,
        "error": node_run.error,
        "pid": node_run.pid if node_run.state == NodeState.RUNNING else None,
    }


def run_detail_data(run: DagRun, node_runs: Sequence[NodeRun]) -> dict[str, Any]:
    done = sum(1 for node_run in node_runs if node_run.state in NODE_SATISFIED)
    data = run_data(run, nodes_total=len(node_runs), nodes_done=done)
    data["params"] = dict(run.params)
    data["deadline_at"] = iso(run.deadline_at)
    data["nodes"] = [node_run_data(node_run) for node_run in node_runs]
    return data


def event_data(event: LogLine) -> dict[str, Any]:
    return {
        "time": iso(event.time),
        "level": event.level,
        "node": event.node_id or None,
        "message": event.message,
    }


def events_data(run: DagRun, events: Sequence[LogLine]) -> dict[str, Any]:
    return {"run": run.pk, "events": [event_data(event) for event in events]}


def attempt_data(attempt: NodeAttempt) -> dict[str, Any]:
    return {
        "number": attempt.number,
        "worker": attempt.worker or None,
        "started_at": iso(attempt.started_at),
        "finished_at": iso(attempt.finished_at),
        "duration_seconds": seconds(attempt.duration_seconds),
        "exit_code": attempt.exit_code,
        "outcome": attempt.outcome or None,
        "output": attempt.output,
        "output_truncated": attempt.output_truncated,
    }


def running_attempt_data(node_run: NodeRun) -> dict[str, Any] | None:
    """The attempt in progress, which has no attempt row until it ends."""
    if node_run.state != NodeState.RUNNING:
        return None
    return {
        "number": node_run.attempts,
        "worker": node_run.worker or None,
        "pid": node_run.pid,
        "started_at": iso(node_run.started_at),
    }


def node_attempts_data(node_run: NodeRun, attempts: Sequence[NodeAttempt]) -> dict[str, Any]:
    return {
        "run": node_run.run_id,
        "node": node_run.node_id,
        "state": node_run.state,
        "running_attempt": running_attempt_data(node_run),
        "attempts": [attempt_data(attempt) for attempt in attempts],
    }
