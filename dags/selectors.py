"""Read queries about DAGs and runs, shared by the CLI, the pages, the API and the admin.

Each selector costs a fixed number of queries however many DAGs, runs or nodes there are: counts
are annotations or one GROUP BY, related rows come with ``select_related``, and nothing is loaded
row by row. Large JSON (a definition can hold thousands of nodes) is deferred where a listing
does not need it. Unknown names and ids raise ``DagError`` with the message users read.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db.models import Count, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone

from dags import errors
from dags.engine.autoclone import AutoCloneConfig, AutoCloneState, status_text
from dags.engine.definition import DagDefinition
from dags.errors import DagError
from dags.models import AutoCloneStatus, Clone, Dag, DagRun, NodeAttempt, NodeRun, RunEvent
from dags.services.autoclone import (
    AutoCloneSummary,
    CloneMark,
    autoclone_config,
    dashboard_autoclone,
)
from dags.services.definitions import dag_definition
from dags.services.scheduling import next_scheduled_time
from dags.states import NODE_SATISFIED, RUN_ACTIVE, NodeState, RunState

RECENT_RUNS = 10
LARGEST_ID = 2**63 - 1


@dataclass(frozen=True)
class DagSummary:
    """One line of the DAG list. ``dag.definition`` is deferred: reading it costs a query."""

    dag: Dag
    active_runs: int
    last_run_id: int | None
    last_run_state: RunState | None
    last_run_at: datetime | None
    """When the last run was created (triggered)."""
    next_run_at: datetime | None
    """The next cron time, or ``None`` for an unscheduled or paused DAG."""


@dataclass(frozen=True)
class DagDetail:
    """A DAG with its parsed definition, its active run count and its latest runs."""

    dag: Dag
    definition: DagDefinition
    active_runs: int
    next_run_at: datetime | None
    recent_runs: list[DagRun]
    """Newest first, annotated as ``runs()`` annotates them."""


def dag_summaries(now: datetime | None = None) -> list[DagSummary]:
    """Every DAG by name with its active runs, its last run and its next scheduled time.

    One query: the active count is an annotation and the last run three correlated subqueries.
    """
    now = now or timezone.now()
    last_run = DagRun.objects.filter(dag=OuterRef("pk")).order_by("-created_at", "-id")
    dags = (
        Dag.objects.defer("definition")
        .annotate(
            active_runs=Count("runs", filter=Q(runs__state__in=RUN_ACTIVE)),
            last_run_id=Subquery(last_run.values("pk")[:1]),
            last_run_state=Subquery(last_run.values("state")[:1]),
            last_run_at=Subquery(last_run.values("created_at")[:1]),
        )
        .order_by("name")
    )
    return [
        DagSummary(
            dag=dag,
            active_runs=dag.active_runs,
            last_run_id=dag.last_run_id,
            last_run_state=RunState(dag.last_run_state) if dag.last_run_state else None,
            last_run_at=dag.last_run_at,
            next_run_at=next_scheduled_time(dag, now),
        )
        for dag in dags
    ]


@dataclass(frozen=True)
class BoardRow:
    """One line of the dashboard: a DAG with its AutoClone summary when it is a parent, and
    its clone mark when it is a clone (then it is listed right under its parent)."""

    summary: DagSummary
    autoclone: AutoCloneSummary | None
    clone: CloneMark | None


@dataclass(frozen=True)
class DagBoard:
    rows: list[BoardRow]
    """Parents by name, each followed by its clones in creation order."""
    totals_text: str
    """ "Total DAGs: 6 (1 parent + 5 clones)"."""


def dag_board(now: datetime | None = None) -> DagBoard:
    """The dashboard: every DAG with its AutoClone badge or clone mark, clones under their
    parents. A fixed number of queries (the summaries' one and AutoClone's five), however many
    DAGs and clones there are."""
    summaries = dag_summaries(now)
    autoclone = dashboard_autoclone()
    by_name = {summary.dag.name: summary for summary in summaries}
    children: dict[str, list[str]] = defaultdict(list)
    for name, mark in autoclone.clones.items():  # in creation order
        if name in by_name and mark.parent in by_name:
            children[mark.parent].append(name)
    listed_under_parent = {name for names in children.values() for name in names}
    rows: list[BoardRow] = []

    def add(name: str) -> None:
        rows.append(
            BoardRow(by_name[name], autoclone.parents.get(name), autoclone.clones.get(name))
        )
        for child in children.pop(name, []):
            add(child)

    for name in by_name:
        if name not in listed_under_parent:
            add(name)
    return DagBoard(rows=rows, totals_text=autoclone.totals_text)


@dataclass(frozen=True)
class CloneOfDag:
    name: str
    is_auto_clone: bool
    created_at: datetime


@dataclass(frozen=True)
class DagAutoClone:
    """A DAG page's AutoClone section: the parent's configuration, state and clones, or, for
    a clone, whose clone it is."""

    config: AutoCloneConfig
    """Enabled with its window and count, or disabled with the reason."""
    section: dict[str, Any] | None
    """The definition's `autoclone` section as written, or None when it has none."""
    state: AutoCloneState
    status: str
    """ "idle", "ramping_up (2/5)", "active" or "ramping_down (3 remaining)"."""
    clones: list[CloneOfDag]
    """Its clones, auto and manual, oldest first."""
    parent: str | None
    """For a clone: its parent's name ("" once the parent is deleted); None otherwise."""
    is_auto_clone: bool
    time_zone: str

    @property
    def is_clone(self) -> bool:
        return self.parent is not None


def dag_autoclone(dag: Dag) -> DagAutoClone:
    """What a DAG's page shows about AutoClone. Three queries."""
    link = Clone.objects.filter(dag=dag).values_list("parent__name", "is_auto_clone").first()
    clones = [
        CloneOfDag(name, auto, created_at)
        for name, auto, created_at in Clone.objects.filter(parent=dag).values_list(
            "dag__name", "is_auto_clone", "created_at"
        )
    ]
    row = AutoCloneStatus.objects.filter(dag=dag).values_list("state", flat=True).first()
    state = AutoCloneState(row) if row else AutoCloneState.IDLE
    config = autoclone_config(dag)
    section = (dag.definition or {}).get("autoclone")
    auto_count = sum(1 for clone in clones if clone.is_auto_clone)
    return DagAutoClone(
        config=config,
        section=dict(section) if isinstance(section, dict) else None,
        state=state,
        status=status_text(state, clones=auto_count, ramp_count=config.ramp_count),
        clones=clones,
        parent=(link[0] or "") if link else None,
        is_auto_clone=bool(link and link[1]),
        time_zone=settings.TIME_ZONE,
    )


def dag_by_name(name: str) -> Dag:
    dag = Dag.objects.filter(name=name).first()
    if dag is None:
        raise DagError(errors.UNKNOWN_DAG.format(name=name))
    return dag


def dag_detail(name: str, *, recent: int = RECENT_RUNS, now: datetime | None = None) -> DagDetail:
    """What ``dagyard dags show`` and a DAG's page show. Three queries."""
    dag = dag_by_name(name)
    active = DagRun.objects.filter(dag=dag, state__in=RUN_ACTIVE).count()
    return DagDetail(
        dag=dag,
        definition=dag_definition(dag),
        active_runs=active,
        next_run_at=next_scheduled_time(dag, now or timezone.now()),
        recent_runs=list(runs(dag=dag, limit=recent)),
    )


def run_id_of(value: int | str) -> int | None:
    """A run id from a command line or a URL, or ``None`` when the text is not a whole number."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value if 0 <= value <= LARGEST_ID else None
    text = str(value).strip()
    if not text.isascii() or not text.isdigit() or int(text) > LARGEST_ID:
        return None
    return int(text)


def run_by_id(run_id: int | str) -> DagRun:
    """The run with its DAG (one query; the DAG's definition is deferred, the run keeps its
    own copy). ``run_id`` may be the text a user typed."""
    pk = run_id_of(run_id)
    run = None
    if pk is not None:
        run = DagRun.objects.select_related("dag").defer("dag__definition").filter(pk=pk).first()
    if run is None:
        raise DagError(errors.UNKNOWN_RUN.format(run=pk if pk is not None else run_id))
    return run


def runs(
    dag: Dag | str | None = None, state: RunState | str | None = None, limit: int | None = 50
) -> QuerySet[DagRun]:
    """The newest runs, of one DAG and in one state when asked, each with its DAG and its
    ``nodes_total`` and ``nodes_done`` (succeeded or skipped) counts. One query."""
    queryset = DagRun.objects.select_related("dag").defer("definition", "dag__definition")
    if isinstance(dag, str):
        queryset = queryset.filter(dag__name=dag)
    elif dag is not None:
        queryset = queryset.filter(dag=dag)
    if state is not None:
        queryset = queryset.filter(state=RunState(state))
    queryset = queryset.annotate(
        nodes_total=Count("node_runs"),
        nodes_done=Count("node_runs", filter=Q(node_runs__state__in=NODE_SATISFIED)),
    ).order_by("-created_at", "-id")
    return queryset if limit is None else queryset[:limit]


def run_progress(run: DagRun | int) -> dict[NodeState, int]:
    """How many of the run's nodes are in each state (states with none are left out)."""
    rows = (
        NodeRun.objects.filter(run=run).order_by().values_list("state").annotate(count=Count("pk"))
    )
    return {NodeState(state): count for state, count in rows}


def node_runs_of(run: DagRun | int) -> QuerySet[NodeRun]:
    """The run's node runs in definition order (their rows are created in graph order)."""
    return NodeRun.objects.filter(run=run).order_by("pk")


def events_of(run: DagRun | int) -> QuerySet[RunEvent]:
    """The run's event log, oldest first."""
    return RunEvent.objects.filter(run=run).order_by("pk")


def node_run_of(run: DagRun, node_id: str) -> NodeRun:
    """One node of the run (one query); an id the run does not have raises ``DagError``."""
    node_run = NodeRun.objects.filter(run=run, node_id=node_id).first()
    if node_run is None:
        raise DagError(errors.UNKNOWN_NODE.format(run=run.pk, node=node_id))
    return node_run


def node_attempts(node_run: NodeRun) -> QuerySet[NodeAttempt]:
    """The node run's finished attempts, first first: timings, exit and output. An attempt in
    progress has no row yet; the node run itself shows it (``started_at``, ``worker``, ``pid``)."""
    return NodeAttempt.objects.filter(node_run=node_run).order_by("number")


def attempts_of(run: DagRun, node_id: str) -> QuerySet[NodeAttempt]:
    """The finished attempts of one node of the run (two queries), as ``node_attempts``."""
    return node_attempts(node_run_of(run, node_id))


@dataclass(frozen=True)
class LogLine:
    """One line of a run's log: an event row, or the start or end of a node attempt."""

    time: datetime
    level: str
    node_id: str
    message: str


def run_log(run: DagRun) -> list[LogLine]:
    """The run's event log with every attempt's start and end merged in by time (two queries):
    what the seed's main.log, error.log and benchmarks.log said, in one place."""
    lines = [
        LogLine(event.created_at, event.level, event.node_id, event.message)
        for event in events_of(run)
    ]
    attempts = NodeAttempt.objects.filter(node_run__run=run).values_list(
        "node_run__node_id", "number", "worker", "started_at", "finished_at", "exit_code", "outcome"
    )
    for node_id, number, worker, started, finished, exit_code, outcome in attempts:
        on = f" on {worker}" if worker else ""
        lines.append(LogLine(started, "INFO", node_id, f"Attempt {number} started{on}"))
        seconds = (finished - started).total_seconds()
        if outcome == "succeeded":
            ended = f"Attempt {number} succeeded in {seconds:.3f}s"
        else:
            ended = f"Attempt {number} {outcome} after {seconds:.3f}s (exit code {exit_code})"
        lines.append(LogLine(finished, "INFO", node_id, ended))
    lines.sort(key=lambda line: line.time)
    return lines


def dag_exists(name: str) -> bool:
    return Dag.objects.filter(name=name).exists()


def queue_depths() -> dict[str, int]:
    """Messages waiting in Dagyard's queues and in every queue a node of an active run names."""
    from orchestrator.broker import queue_depths as depths

    node_queues = (
        NodeRun.objects.filter(run__state__in=RUN_ACTIVE)
        .order_by()
        .values_list("queue", flat=True)
        .distinct()
    )
    return depths([*settings.TASK_QUEUES, *node_queues])


def workers() -> list[dict]:
    from orchestrator.broker import workers as seen

    return seen()
