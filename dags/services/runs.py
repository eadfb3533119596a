"""Starting, finishing, cancelling and retrying runs.

Every move is a guarded UPDATE whose row count decides: 0 means another process made the move
first, so this one does nothing more. That keeps a redelivered Celery message, two workers
finishing sibling nodes at once, or two beat processes harmless, on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from dags import errors
from dags.engine.ready import nodes_to_reset, run_outcome
from dags.engine.transitions import reset_sources
from dags.errors import DagError, RunRefused
from dags.models import Dag, DagRun, NodeRun, RunEvent
from dags.services.definitions import compile_definition, compiled_run, dag_definition
from dags.states import NODE_ACTIVE, RUN_ACTIVE, RUN_TERMINAL, NodeState, RunState

logger = logging.getLogger(__name__)

PARAM_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
RESERVED_PARAM_NAMES = frozenset(
    {"PATH", "HOME", "SHELL", "IFS", "PWD", "USER", "PYTHONPATH", "PYTHONHOME", "LD_PRELOAD",
     "LD_LIBRARY_PATH"}
)  # fmt: skip
DEFAULT_NODE_QUEUE = "dags"
NODE_UNFINISHED = frozenset({NodeState.PENDING, *NODE_ACTIVE})

RESOURCE_WAIT_TIMEOUT = "Resource wait timeout: Resources not available within {seconds:g}s"
DEADLINE_PASSED = "Deadline of {seconds:g}s passed with nodes unfinished: {nodes}"
RUN_CANCELLED = "Run cancelled{by}"


def record_event(run_id: int, message: str, *, node_id: str = "", error: bool = False) -> None:
    level = RunEvent.Level.ERROR if error else RunEvent.Level.INFO
    RunEvent.objects.create(run_id=run_id, node_id=node_id, level=level, message=message)


def parse_params(items: Iterable[str]) -> dict[str, str]:
    """`NAME=VALUE` words from a command line into a mapping (validated by `clean_params`)."""
    params: dict[str, str] = {}
    for text in items:
        name, sep, value = text.partition("=")
        if not sep or not name:
            raise DagError(errors.BAD_PARAM_SYNTAX.format(text=text))
        params[name] = value
    return params


def clean_params(params: Mapping[str, object] | None) -> dict[str, str]:
    """Run parameters become environment values: names must be safe to export as they are."""
    cleaned: dict[str, str] = {}
    for name, value in (params or {}).items():
        if not isinstance(name, str) or not PARAM_NAME.match(name):
            raise DagError(errors.BAD_PARAM_NAME.format(name=name))
        if name in RESERVED_PARAM_NAMES or name.startswith("DAGYARD_"):
            raise DagError(errors.RESERVED_PARAM_NAME.format(name=name))
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise DagError(errors.BAD_PARAM_VALUE.format(name=name))
        text = str(value)
        if "\x00" in text:
            raise DagError(errors.BAD_PARAM_VALUE.format(name=name))
        cleaned[name] = text
    return cleaned


def queue_of(queue: str | None) -> str:
    return queue or DEFAULT_NODE_QUEUE


def send_nodes(node_runs: Iterable[tuple[int, str]]) -> None:
    """Hand node runs to the broker once the transaction that queued them has committed.

    Should the broker refuse, the nodes are marked as an unlaunched claim (a QUEUED node with a
    heartbeat): the reaper sends them again once their heartbeat is stale, so a run never waits
    forever on a message that was never sent.
    """
    from dags.tasks import run_node

    batch = list(node_runs)
    if not batch:
        return

    def send() -> None:
        for index, (node_run_id, queue) in enumerate(batch):
            try:
                run_node.apply_async(args=[node_run_id], queue=queue)
            except Exception:  # any broker error: the reaper takes over
                unsent = [pk for pk, _ in batch[index:]]
                NodeRun.objects.filter(pk__in=unsent, state=NodeState.QUEUED).update(
                    heartbeat_at=timezone.now()
                )
                logger.exception("the broker refused %d node(s); the reaper will resend them",
                                 len(unsent))  # fmt: skip
                return

    transaction.on_commit(send)


def start_run(
    *,
    dag: Dag,
    params: Mapping[str, object] | None = None,
    trigger: str = DagRun.Trigger.MANUAL,
    triggered_by: str = "",
    scheduled_for: datetime | None = None,
) -> DagRun:
    """Create a run from the DAG's current definition and send its first nodes."""
    cleaned = clean_params(params)
    compiled = compile_definition(dag_definition(dag), check_files=True)
    definition, graph = compiled.definition, compiled.graph
    now = timezone.now()
    try:
        with transaction.atomic():
            Dag.objects.select_for_update().filter(pk=dag.pk).first()
            active = DagRun.objects.filter(dag=dag, state__in=RUN_ACTIVE).count()
            if active >= dag.max_active_runs:
                raise RunRefused(
                    errors.RUN_LIMIT_REACHED.format(
                        dag=dag.name, active=active, limit=dag.max_active_runs
                    )
                )
            deadline = definition.deadline_seconds
            run = DagRun.objects.create(
                dag=dag,
                state=RunState.RUNNING,
                definition=dag.definition,
                folder=dag.folder,
                params=cleaned,
                trigger=trigger,
                triggered_by=triggered_by,
                scheduled_for=scheduled_for,
                started_at=now,
                deadline_at=now + timedelta(seconds=deadline) if deadline else None,
            )
            roots = set(graph.roots)
            NodeRun.objects.bulk_create(
                [
                    NodeRun(
                        run=run,
                        node_id=node_id,
                        state=NodeState.QUEUED if node_id in roots else NodeState.PENDING,
                        queued_at=now if node_id in roots else None,
                        parents_remaining=len(graph.parents[node_id]),
                        queue=queue_of(compiled.nodes[node_id].queue),
                    )
                    for node_id in graph.order
                ],
                batch_size=500,
            )
            who = f" by {triggered_by}" if triggered_by else ""
            record_event(run.pk, f"Run started ({trigger}{who}) with {len(graph)} node(s)")
            send_nodes(
                NodeRun.objects.filter(run=run, state=NodeState.QUEUED).values_list("pk", "queue")
            )
    except IntegrityError as error:
        if scheduled_for is not None:
            raise RunRefused(
                errors.DUPLICATE_SCHEDULED_RUN.format(dag=dag.name, when=scheduled_for.isoformat())
            ) from error
        raise
    return run


def finish_run_if_done(run_id: int) -> RunState | None:
    """Close the run when no node can move any more. Called after each node's final move
    commits, so of two nodes finishing at once, the later one sees both and closes the run."""
    if NodeRun.objects.filter(run_id=run_id, state__in=NODE_UNFINISHED).exists():
        return None
    run = DagRun.objects.filter(pk=run_id, state=RunState.RUNNING).first()
    if run is None:
        return None
    states = dict(NodeRun.objects.filter(run_id=run_id).values_list("node_id", "state"))
    outcome = run_outcome(compiled_run(run).graph, states) or RunState.FAILED
    now = timezone.now()
    moved = DagRun.objects.filter(pk=run_id, state=RunState.RUNNING).update(
        state=outcome, finished_at=now
    )
    if moved:
        seconds = (now - run.started_at).total_seconds() if run.started_at else 0.0
        record_event(
            run_id,
            f"Run {outcome.value} in {seconds:.2f}s",
            error=outcome is not RunState.SUCCEEDED,
        )
        if compiled_run(run).definition.run_mode == "continuous":
            continue_when_committed(run.dag_id, countdown=continuous_wait(run, now))
    return outcome if moved else None


def continuous_wait(run: DagRun, now: datetime) -> float:
    """Seconds until the next continuous run may start: its minimum interval since this one."""
    interval = compiled_run(run).definition.min_run_interval_seconds or 0.0
    start = run.started_at or run.created_at
    return max(0.0, (start + timedelta(seconds=interval) - now).total_seconds())


def stop_unfinished_nodes(run_id: int, *, now: datetime) -> None:
    """Pending and in-flight nodes become CANCELLED; running ones notice within a second and
    kill their process groups."""
    NodeRun.objects.filter(run_id=run_id, state__in=NODE_UNFINISHED).update(
        state=NodeState.CANCELLED, finished_at=now
    )


def fail_run(run_id: int, *, error: str) -> bool:
    now = timezone.now()
    with transaction.atomic():
        moved = DagRun.objects.filter(pk=run_id, state__in=RUN_ACTIVE).update(
            state=RunState.FAILED, finished_at=now, error=error
        )
        if moved:
            stop_unfinished_nodes(run_id, now=now)
            record_event(run_id, error, error=True)
    return bool(moved)


def fail_run_past_deadline(run: DagRun) -> bool:
    """The deadline bounds the whole run, waits included; say what it was waiting for."""
    seconds = (run.deadline_at - run.started_at).total_seconds() if run.deadline_at else 0
    unfinished = list(
        NodeRun.objects.filter(run=run, state__in=NODE_UNFINISHED).values_list("node_id", "state")
    )
    if any(state == NodeState.WAITING_RESOURCES for _, state in unfinished):
        message = RESOURCE_WAIT_TIMEOUT.format(seconds=seconds)
    else:
        names = ", ".join(node for node, _ in unfinished) or "none"
        message = DEADLINE_PASSED.format(seconds=seconds, nodes=names)
    return fail_run(run.pk, error=message)


def cancel_run(*, run: DagRun, by: str = "") -> DagRun:
    now = timezone.now()
    who = f" by {by}" if by else ""
    with transaction.atomic():
        moved = DagRun.objects.filter(pk=run.pk, state__in=RUN_ACTIVE).update(
            state=RunState.CANCELLED, finished_at=now, error=RUN_CANCELLED.format(by=who)
        )
        if not moved:
            run.refresh_from_db()
            raise RunRefused(errors.RUN_ALREADY_FINISHED.format(run=run.pk, state=run.state))
        stop_unfinished_nodes(run.pk, now=now)
        record_event(run.pk, RUN_CANCELLED.format(by=who), error=True)
    run.refresh_from_db()
    return run


def retry_run(*, run: DagRun, by: str = "") -> DagRun:
    """Run again what did not succeed, and what depends on it; successes keep their results."""
    if run.state not in (RunState.FAILED, RunState.CANCELLED):
        raise RunRefused(errors.RUN_NOT_RETRYABLE.format(run=run.pk, state=run.state))
    graph = compiled_run(run).graph
    states = dict(NodeRun.objects.filter(run=run).values_list("node_id", "state"))
    reset = nodes_to_reset(graph, states)
    now = timezone.now()
    with transaction.atomic():
        Dag.objects.select_for_update().filter(pk=run.dag_id).first()
        dag = Dag.objects.get(pk=run.dag_id)
        active = DagRun.objects.filter(dag=dag, state__in=RUN_ACTIVE).count()
        if active >= dag.max_active_runs:
            raise RunRefused(
                errors.RUN_LIMIT_REACHED.format(
                    dag=dag.name, active=active, limit=dag.max_active_runs
                )
            )
        deadline = compiled_run(run).definition.deadline_seconds
        moved = DagRun.objects.filter(
            pk=run.pk, state__in=RUN_TERMINAL - {RunState.SUCCEEDED}
        ).update(
            state=RunState.RUNNING,
            started_at=now,
            finished_at=None,
            error="",
            deadline_at=now + timedelta(seconds=deadline) if deadline else None,
        )
        if not moved:
            run.refresh_from_db()
            raise RunRefused(errors.RUN_NOT_RETRYABLE.format(run=run.pk, state=run.state))
        by_count: dict[int, list[str]] = {}
        for node_id in reset:
            waiting_on = sum(1 for parent in graph.parents[node_id] if parent in reset)
            by_count.setdefault(waiting_on, []).append(node_id)
        for count, node_ids in by_count.items():
            NodeRun.objects.filter(
                run=run, node_id__in=node_ids, state__in=reset_sources(NodeState.PENDING)
            ).update(
                state=NodeState.QUEUED if count == 0 else NodeState.PENDING,
                parents_remaining=count,
                queued_at=now if count == 0 else None,
                started_at=None,
                finished_at=None,
                heartbeat_at=None,
                waiting_since=None,
                exit_code=None,
                error="",
                pid=None,
                attempts_at_reset=F("attempts"),
            )
        who = f" by {by}" if by else ""
        record_event(run.pk, f"Run retried{who}: {len(reset)} node(s) run again")
        send_nodes(
            NodeRun.objects.filter(
                run=run, node_id__in=by_count.get(0, []), state=NodeState.QUEUED
            ).values_list("pk", "queue")
        )
    run.refresh_from_db()
    return run


def start_next_continuous_run(
    *, dag_id: int, now: datetime | None = None
) -> tuple[DagRun | None, float | None]:
    """Keep a started DAG in continuous run mode going: start its next run when none is active
    and its minimum interval since the last start has passed. Returns the run started, or how
    many seconds to wait before trying again (None when there is nothing to wait for)."""
    dag = Dag.objects.filter(pk=dag_id, is_paused=False, definition__run_mode="continuous").first()
    if dag is None or DagRun.objects.filter(dag=dag, state__in=RUN_ACTIVE).exists():
        return None, None
    now = now or timezone.now()
    interval = float(dag.definition.get("min_run_interval_seconds") or 0)
    last_start = (
        DagRun.objects.filter(dag=dag).order_by("-created_at").values_list("created_at", flat=True)
    ).first()
    if last_start is not None and interval > 0:
        wait = (last_start + timedelta(seconds=interval) - now).total_seconds()
        if wait > 0:
            return None, wait
    try:
        run = start_run(dag=dag, trigger=DagRun.Trigger.SCHEDULE, triggered_by="continuous")
    except (RunRefused, DagError) as refusal:
        logger.info("continuous DAG %s not started: %s", dag.name, refusal)
        return None, None
    return run, None


def continue_when_committed(dag_id: int, countdown: float = 0.0) -> None:
    """Ask a worker to start the DAG's next continuous run once this transaction commits. The
    10-second continuous-runs tick is the safety net when the message is lost."""
    from dags.tasks import continue_dag

    def send() -> None:
        try:
            continue_dag.apply_async(args=[dag_id], countdown=max(countdown, 0.0))
        except Exception:  # a broker error: the periodic tick starts the run instead
            logger.exception("could not send the next continuous run of DAG %s", dag_id)

    transaction.on_commit(send)


def keep_continuous_dags_running(now: datetime | None = None) -> list[int]:
    """The safety net of continuous run mode: every started continuous DAG with no active run
    whose interval has passed gets its next run. Returns the ids of the runs started."""
    now = now or timezone.now()
    idle = (
        Dag.objects.filter(is_paused=False, definition__run_mode="continuous")
        .exclude(runs__state__in=RUN_ACTIVE)
        .values_list("pk", flat=True)
    )
    started = []
    for dag_id in idle:
        run, _wait = start_next_continuous_run(dag_id=dag_id, now=now)
        if run is not None:
            started.append(run.pk)
    return started
