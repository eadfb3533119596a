"""How the DAG commands show things to people: text tables, timings and progress lines.

The JSON documents (`--json`, and the same documents in the REST API) live in
`dags.documents`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from django.utils import timezone

from dags.engine.definition import NodeSpec
from dags.models import DagRun, NodeAttempt, NodeRun
from dags.selectors import DagDetail, DagSummary, LogLine
from dags.states import NODE_SATISFIED, NODE_UNSUCCESSFUL, NodeState

NONE = "-"
BAR_WIDTH = 30
MIN_BAR_WIDTH = 5
COLUMN_GAP = "  "

# ---------------------------------------------------------------------------- values


def when(moment: datetime | None, *, precise: bool = False) -> str:
    """A time for people: local, to the second (or the millisecond when ``precise``)."""
    if moment is None:
        return NONE
    text = timezone.localtime(moment).strftime("%Y-%m-%d %H:%M:%S.%f")
    return text[:-3] if precise else text[:-7]


def took(value: float | None) -> str:
    return f"{value:.2f}s" if value is not None else NONE


def text_or_none(value: object) -> str:
    return NONE if value is None or value == "" else str(value)


def json_text(data: object) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False)


def table(headers: Sequence[str] | None, rows: Iterable[Sequence[object]]) -> str:
    """Columns padded to their widest cell; the last column is left ragged."""
    lines = [[str(cell) for cell in row] for row in rows]
    if headers:
        lines.insert(0, list(headers))
    if not lines:
        return ""
    widths = [max(len(line[i]) for line in lines) for i in range(len(lines[0]) - 1)]
    return "\n".join(
        COLUMN_GAP.join(
            [*(cell.ljust(w) for cell, w in zip(line, widths, strict=False)), line[-1]]
        ).rstrip()
        for line in lines
    )


def fields_text(pairs: Iterable[tuple[str, object]]) -> str:
    """``name  value`` lines, the names aligned."""
    return table(None, [(name, text_or_none(value)) for name, value in pairs])


def indented(text: str, prefix: str = "  ") -> str:
    return "\n".join(prefix + line for line in text.splitlines())


# ---------------------------------------------------------------------------- progress


@dataclass(frozen=True)
class Progress:
    """A run's nodes in four groups: done (succeeded or skipped), running, waiting (pending,
    queued, waiting for resources, due for a retry) and failed (failed, upstream-failed or
    cancelled)."""

    done: int = 0
    running: int = 0
    waiting: int = 0
    failed: int = 0

    @property
    def total(self) -> int:
        return self.done + self.running + self.waiting + self.failed


def progress_of(counts: Mapping[NodeState, int]) -> Progress:
    def total(states: Iterable[NodeState]) -> int:
        return sum(counts.get(state, 0) for state in states)

    done = total(NODE_SATISFIED)
    failed = total(NODE_UNSUCCESSFUL)
    running = counts.get(NodeState.RUNNING, 0)
    return Progress(done, running, sum(counts.values()) - done - failed - running, failed)


def progress_bar(progress: Progress, width: int = BAR_WIDTH) -> str:
    """``#`` done, ``!`` failed, ``>`` running, ``.`` waiting; cumulative rounding keeps the
    bar exactly ``width`` wide and makes a full run a full bar."""
    if progress.total == 0:
        return "." * width
    bar, filled, seen = "", 0, 0
    for count, mark in (
        (progress.done, "#"),
        (progress.failed, "!"),
        (progress.running, ">"),
        (progress.waiting, "."),
    ):
        seen += count
        end = round(seen * width / progress.total)
        bar += mark * (end - filled)
        filled = end
    return bar


def progress_line(run_id: int, progress: Progress, *, columns: int | None = None) -> str:
    """``run 12 [####....] 3/8 done, 1 running, 4 waiting, 0 failed``. Given the terminal's
    ``columns``, the bar shrinks (or goes) so the line never wraps, which would break redrawing
    it in place; the counts always stay."""
    counts = (
        f"{progress.done}/{progress.total} done, {progress.running} running, "
        f"{progress.waiting} waiting, {progress.failed} failed"
    )
    width = BAR_WIDTH
    if columns is not None:
        # One column spare: a line that fills the terminal exactly wraps on some terminals.
        width = min(BAR_WIDTH, columns - 1 - len(f"run {run_id} [] {counts}"))
    if width < MIN_BAR_WIDTH:
        return f"run {run_id} {counts}"
    return f"run {run_id} [{progress_bar(progress, width)}] {counts}"


def outcome_line(run: DagRun) -> str:
    """The last line of ``dagyard run --wait``: the final state, how long, and why."""
    line = f"run {run.pk} {run.state} in {took(run.duration_seconds)}"
    return f"{line}: {run.error}" if run.error else line


# ---------------------------------------------------------------------------- DAGs


def dag_summaries_text(summaries: Sequence[DagSummary]) -> str:
    if not summaries:
        return "no DAGs yet (load some with `dagyard sync`)"
    return table(
        ("NAME", "SCHEDULE", "PAUSED", "ACTIVE", "LAST RUN", "LAST RUN AT", "NEXT RUN AT"),
        [
            (
                s.dag.name,
                s.dag.schedule or NONE,
                "yes" if s.dag.is_paused else "no",
                f"{s.active_runs}/{s.dag.max_active_runs}",
                f"{s.last_run_id} {s.last_run_state}" if s.last_run_id else NONE,
                when(s.last_run_at),
                when(s.next_run_at),
            )
            for s in summaries
        ],
    )


def thresholds_text(resources: Mapping[str, float | None]) -> str:
    set_ = [f"{key}={value:g}" for key, value in resources.items() if value is not None]
    return " ".join(set_) or "none"


def command_text(node: NodeSpec) -> str:
    return node.command if isinstance(node.command, str) else " ".join(node.command)


def dag_detail_text(detail: DagDetail) -> str:
    dag, definition = detail.dag, detail.definition
    deadline = definition.deadline_seconds
    header = fields_text(
        [
            ("name", dag.name),
            ("description", dag.description),
            ("labels", " ".join(f"{k}={v}" for k, v in definition.labels.items())),
            ("folder", dag.folder),
            ("schedule", dag.schedule),
            ("next run at", when(detail.next_run_at)),
            ("paused", "yes" if dag.is_paused else "no"),
            ("deadline", f"{deadline:g}s" if deadline else None),
            ("resources", thresholds_text(definition.resources.to_data())),
            ("active runs", f"{detail.active_runs} of at most {dag.max_active_runs}"),
            ("on failure", definition.failure_policy.value),
        ]
    )
    nodes = table(
        ("NODE", "AFTER", "COMMAND"),
        [
            (node.id, ",".join(node.prerequisites) or NONE, command_text(node))
            for node in definition.nodes
        ],
    )
    recent = runs_text(detail.recent_runs) if detail.recent_runs else "no runs yet"
    return f"{header}\n\n{indented(nodes)}\n\nrecent runs\n{indented(recent)}"


# ---------------------------------------------------------------------------- runs


def runs_text(runs: Sequence[DagRun]) -> str:
    if not runs:
        return "no runs"
    return table(
        ("RUN", "DAG", "STATE", "TRIGGER", "CREATED", "DURATION", "NODES DONE"),
        [
            (
                run.pk,
                run.dag.name,
                run.state,
                f"{run.trigger} by {run.triggered_by}" if run.triggered_by else run.trigger,
                when(run.created_at),
                took(run.duration_seconds),
                f"{getattr(run, 'nodes_done', 0)}/{getattr(run, 'nodes_total', 0)}",
            )
            for run in runs
        ],
    )


def run_detail_text(run: DagRun, node_runs: Sequence[NodeRun]) -> str:
    who = f" by {run.triggered_by}" if run.triggered_by else ""
    header = fields_text(
        [
            ("run", run.pk),
            ("dag", run.dag.name),
            ("state", run.state),
            ("trigger", f"{run.trigger}{who}"),
            ("scheduled for", when(run.scheduled_for) if run.scheduled_for else None),
            ("created", when(run.created_at)),
            ("started", when(run.started_at)),
            ("finished", when(run.finished_at)),
            ("duration", took(run.duration_seconds)),
            ("deadline", when(run.deadline_at) if run.deadline_at else None),
            ("params", " ".join(f"{k}={v}" for k, v in sorted(run.params.items()))),
            ("error", run.error),
        ]
    )
    nodes = table(
        ("NODE", "STATE", "ATTEMPTS", "STARTED", "FINISHED", "DURATION", "EXIT", "ERROR"),
        [
            (
                node_run.node_id,
                node_run.state,
                node_run.attempts,
                when(node_run.started_at),
                when(node_run.finished_at),
                took(node_run.duration_seconds),
                text_or_none(node_run.exit_code),
                node_run.error,
            )
            for node_run in node_runs
        ],
    )
    return f"{header}\n\n{indented(nodes)}"


# ---------------------------------------------------------------------------- logs


def events_text(events: Sequence[LogLine]) -> str:
    if not events:
        return "no events"
    return table(
        None,
        [
            (
                when(event.time, precise=True),
                event.level,
                event.node_id or NONE,
                event.message,
            )
            for event in events
        ],
    )


def attempt_text(attempt: NodeAttempt) -> str:
    exit_code = f", exit code {attempt.exit_code}" if attempt.exit_code is not None else ""
    worker = f" on {attempt.worker}" if attempt.worker else ""
    lines = [
        f"attempt {attempt.number}: {attempt.outcome or NONE}{exit_code}{worker}",
        f"  started {when(attempt.started_at, precise=True)}  "
        f"ended {when(attempt.finished_at, precise=True)}  "
        f"duration {took(attempt.duration_seconds)}",
    ]
    if attempt.output:
        lines.append(indented(attempt.output.rstrip("\n"), "  | "))
    else:
        lines.append("  (no output)")
    if attempt.output_truncated:
        lines.append("  (output truncated: its middle was dropped)")
    return "\n".join(lines)


def running_attempt_text(node_run: NodeRun) -> str:
    worker = f" on {node_run.worker}" if node_run.worker else ""
    pid = f" (pid {node_run.pid})" if node_run.pid else ""
    return (
        f"attempt {node_run.attempts}: running{worker}{pid}\n"
        f"  started {when(node_run.started_at, precise=True)}  (output shows when it ends)"
    )


def node_attempts_text(node_run: NodeRun, attempts: Sequence[NodeAttempt]) -> str:
    """The seed's benchmarks view of one node: each attempt's start, end, duration and output."""
    parts = [attempt_text(attempt) for attempt in attempts]
    if node_run.state == NodeState.RUNNING:
        parts.append(running_attempt_text(node_run))
    if not parts:
        return (
            f"node {node_run.node_id} of run {node_run.run_id} has no attempts ({node_run.state})"
        )
    return "\n\n".join(parts)
