"""One node run on a worker: deadline and queue checks, the resource gate, the process, and the
moves that follow (children dispatched, a retry scheduled, or the failure policy applied)."""

from __future__ import annotations

import json
import os
import sys
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from dags.engine.definition import NodeSpec
from dags.engine.gate import busy_reasons
from dags.engine.ready import plan_failure
from dags.engine.retry import has_retry_left, retry_delay
from dags.models import DagRun, NodeAttempt, NodeRun
from dags.process import ProcessResult, StopReason, run_process
from dags.resources import host_sampler
from dags.services.clones import clone_position
from dags.services.definitions import CompiledDefinition, compiled_run
from dags.services.run_memo import RunMemo
from dags.services.runs import (
    fail_run_past_deadline,
    finish_run_if_done,
    record_event,
    send_nodes,
)
from dags.states import NodeState

LAUNCHABLE = frozenset({NodeState.QUEUED, NodeState.WAITING_RESOURCES, NodeState.UP_FOR_RETRY})
RESOURCES_BUSY = "Resources busy\u2014waiting for availability... ({reasons})"
QUEUE_TIMEOUT = "waited {seconds:.0f}s to start, longer than its queue_timeout_seconds ({limit:g}s)"
TIMED_OUT = "timed out after {seconds:g}s; its process group was killed"
EXIT_CODE = "exited with code {code}"
HEARTBEAT_EVERY_SECONDS = 10.0

# Dagyard's own secrets stay with Dagyard: scripts get the worker's environment without them.
PRIVATE_VARIABLES = frozenset(
    {"SECRET_KEY", "DATABASE_URL", "REDIS_URL", "OPENAI_API_KEY", "OS_PASSWORD",
     "OS_APPLICATION_CREDENTIAL_SECRET", "DAGYARD_ENROLL_TOKEN", "DAGYARD_API_KEY"}
)  # fmt: skip


@dataclass(frozen=True)
class NodeOutcome:
    """What happens after one node: nothing, try it again after `retry_in` seconds, or go on
    with `continue_with`, a ready child this worker claimed instead of sending it."""

    retry_in: float | None = None
    continue_with: int | None = None


def work_on(*, node_run_id: int, worker: str = "") -> NodeOutcome:
    """Run a node, then keep running the ready children it hands over, on this worker.

    A child that becomes ready when its parent ends would otherwise go through the broker to
    whichever worker is free - most often this one, a few milliseconds later. Running it here
    saves that round trip on every hop of a chain. Only the first node's retry goes back to the
    caller (its Celery task); a claimed child that must wait is sent as its own message.
    """
    outcome = execute_node(node_run_id=node_run_id, worker=worker)
    current = node_run_id
    while outcome.continue_with is not None or (
        outcome.retry_in is not None and current != node_run_id
    ):
        if outcome.retry_in is not None:
            send_later(current, outcome.retry_in)
            return NodeOutcome()
        current = outcome.continue_with
        outcome = execute_node(node_run_id=current, worker=worker)
    return outcome


def send_later(node_run_id: int, countdown: float) -> None:
    from dags.tasks import run_node

    queue = NodeRun.objects.filter(pk=node_run_id).values_list("queue", flat=True).first()
    run_node.apply_async(args=[node_run_id], queue=queue, countdown=countdown)


def python_for_scripts() -> str:
    return os.environ.get("DAGYARD_PYTHON") or sys.executable


# The position is read when a worker first runs one of the run's nodes, then kept for the run.
run_clone_position = RunMemo(lambda run: clone_position(run.dag_id)).get


def node_environment(run: DagRun, dag_name: str, spec: NodeSpec, attempt: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in PRIVATE_VARIABLES}
    env.update(spec.env)
    env.update(run.params)
    env.update(
        {
            "DAGYARD_DAG": dag_name,
            "DAGYARD_RUN_ID": str(run.pk),
            "DAGYARD_NODE": spec.id,
            "DAGYARD_ATTEMPT": str(attempt),
            "DAGYARD_PARAMS": json.dumps(run.params, sort_keys=True),
        }
    )
    # So the copies of a DAG can split work: the parent is index 0, its clones 1..count.
    index, count = run_clone_position(run)
    env["DAGYARD_CLONE_INDEX"] = str(index)
    env["DAGYARD_CLONE_COUNT"] = str(count)
    return env


def execute_node(*, node_run_id: int, worker: str = "") -> NodeOutcome:
    # The run's definition is only read to compile it, once per worker process and run.
    node_run = (
        NodeRun.objects.select_related("run")
        .defer("run__definition")
        .filter(pk=node_run_id)
        .first()
    )
    if node_run is None or node_run.state not in LAUNCHABLE:
        return NodeOutcome()  # cancelled, finished, or a redelivered message: nothing to do
    run = node_run.run
    compiled = compiled_run(run)
    spec = compiled.nodes[node_run.node_id]
    now = timezone.now()
    if run.deadline_at and now >= run.deadline_at:
        fail_run_past_deadline(run)
        return NodeOutcome()
    if spec.queue_timeout_seconds and node_run.state != NodeState.UP_FOR_RETRY:
        waited = (now - (node_run.queued_at or now)).total_seconds()
        if waited > spec.queue_timeout_seconds:
            error = QUEUE_TIMEOUT.format(seconds=waited, limit=spec.queue_timeout_seconds)
            fail_node(node_run, compiled, error=error, from_states=LAUNCHABLE)
            return NodeOutcome()
    if not spec.resources.is_unbounded:
        reasons = busy_reasons(spec.resources, host_sampler().read(Path(run.folder)))
        if reasons:
            return wait_for_resources(node_run, reasons, now=now)
    return launch(node_run, compiled, spec, worker=worker, now=now)


def wait_for_resources(node_run: NodeRun, reasons: list[str], *, now: datetime) -> NodeOutcome:
    moved = NodeRun.objects.filter(
        pk=node_run.pk, state__in=LAUNCHABLE - {NodeState.WAITING_RESOURCES}
    ).update(state=NodeState.WAITING_RESOURCES, waiting_since=now)
    if moved:
        message = RESOURCES_BUSY.format(reasons="; ".join(reasons))
        record_event(node_run.run_id, message, node_id=node_run.node_id)
    countdown = settings.DAGYARD_RESOURCE_POLL_SECONDS
    deadline = node_run.run.deadline_at
    if deadline:
        # Wake up at the deadline at the latest, to fail the run on time.
        countdown = max(0.0, min(countdown, (deadline - now).total_seconds()))
    return NodeOutcome(retry_in=countdown)


def launch(
    node_run: NodeRun, compiled: CompiledDefinition, spec: NodeSpec, *, worker: str, now: datetime
) -> NodeOutcome:
    attempt = node_run.attempts + 1
    moved = NodeRun.objects.filter(
        pk=node_run.pk, state__in=LAUNCHABLE, attempts=node_run.attempts
    ).update(
        state=NodeState.RUNNING,
        attempts=attempt,
        started_at=now,
        heartbeat_at=now,
        finished_at=None,
        worker=worker,
        waiting_since=None,
        pid=None,
    )
    if not moved:
        return NodeOutcome()
    run = node_run.run
    timeout, deadline_bound = spec.timeout_seconds, False
    if run.deadline_at:
        remaining = max(0.0, (run.deadline_at - now).total_seconds())
        if timeout is None or remaining < timeout:
            timeout, deadline_bound = remaining, True
    result = run_process(
        spec.argv(python_for_scripts()),
        cwd=Path(run.folder),
        env=node_environment(run, compiled.definition.name, spec, attempt),
        timeout=timeout,
        should_stop=StillRunning(node_run.pk, attempt),
        output_limit=settings.DAGYARD_OUTPUT_LIMIT_BYTES,
    )
    # One row per finished attempt, written once (in the same transaction as the node's next
    # move when it succeeded): a running attempt shows on the NodeRun (started_at, worker, pid).
    attempt_row = NodeAttempt(
        node_run=node_run,
        number=attempt,
        worker=worker,
        started_at=now,
        finished_at=timezone.now(),
        exit_code=result.exit_code,
        outcome=attempt_outcome(result),
        output=result.output,
        output_truncated=result.truncated,
    )
    return settle(node_run, compiled, spec, result, attempt_row, deadline_bound=deadline_bound)


def attempt_outcome(result: ProcessResult) -> str:
    if result.stopped:
        return result.stopped
    return "succeeded" if result.exit_code == 0 else "failed"


class StillRunning:
    """Asked by the process runner every second: stop unless this very attempt is still the
    node's running one - not when the node was cancelled, stopped by the failure policy, or
    cancelled and retried into a newer attempt between two checks. The first call records the
    process id, and the heartbeat is kept fresh, so nodes shorter than a second cost no write
    for either."""

    def __init__(self, node_run_id: int, attempt: int) -> None:
        self.node_run_id = node_run_id
        self.attempt = attempt
        self.last_beat: float | None = None

    def __call__(self, pid: int) -> bool:
        rows = NodeRun.objects.filter(
            pk=self.node_run_id, state=NodeState.RUNNING, attempts=self.attempt
        )
        if self.last_beat is None:
            self.last_beat = time.monotonic()
            return not rows.update(pid=pid, heartbeat_at=timezone.now())
        if time.monotonic() - self.last_beat >= HEARTBEAT_EVERY_SECONDS:
            self.last_beat = time.monotonic()
            return not rows.update(heartbeat_at=timezone.now())
        return not rows.exists()


def settle(
    node_run: NodeRun,
    compiled: CompiledDefinition,
    spec: NodeSpec,
    result: ProcessResult,
    attempt_row: NodeAttempt,
    *,
    deadline_bound: bool,
) -> NodeOutcome:
    now = timezone.now()
    succeeded = result.exit_code == 0 and result.stopped is None
    if succeeded:
        claimed = succeed_node(node_run, compiled, now=now, attempt_row=attempt_row)
        return NodeOutcome(continue_with=claimed)
    attempt_row.save()
    if result.stopped == StopReason.CANCELLED:
        record_event(node_run.run_id, f"Node {spec.id} stopped: its run no longer wants it",
                     node_id=spec.id, error=True)  # fmt: skip
        finish_run_if_done(node_run.run_id)
        return NodeOutcome()
    if result.stopped == StopReason.TIMEOUT and deadline_bound:
        fail_run_past_deadline(DagRun.objects.get(pk=node_run.run_id))
        return NodeOutcome()
    if result.stopped == StopReason.TIMEOUT:
        error = TIMED_OUT.format(seconds=spec.timeout_seconds)
    else:
        error = EXIT_CODE.format(code=result.exit_code)
    attempts_made = node_run.attempts + 1 - node_run.attempts_at_reset
    if has_retry_left(spec.retry, attempts_made):
        delay = retry_delay(spec.retry, attempts_made)
        moved = NodeRun.objects.filter(
            pk=node_run.pk, state=NodeState.RUNNING, attempts=attempt_row.number
        ).update(state=NodeState.UP_FOR_RETRY, exit_code=result.exit_code, error=error)
        if moved:
            record_event(
                node_run.run_id,
                f"Node {spec.id} {error}; retrying in {delay:.1f}s",
                node_id=spec.id,
                error=True,
            )
            return NodeOutcome(retry_in=delay)
        return NodeOutcome()
    fail_node(
        node_run, compiled, error=error, exit_code=result.exit_code, attempt=attempt_row.number
    )
    return NodeOutcome()


def succeed_node(
    node_run: NodeRun, compiled: CompiledDefinition, *, now: datetime, attempt_row: NodeAttempt
) -> int | None:
    """Mark the node succeeded and queue the children that became ready. One child on the
    node's own queue is claimed for this worker (returned); the others go to the broker."""
    node_id, run_id = node_run.node_id, node_run.run_id
    children = compiled.graph.children[node_id]
    claimed: int | None = None
    with transaction.atomic():
        attempt_row.save()
        moved = NodeRun.objects.filter(
            pk=node_run.pk, state=NodeState.RUNNING, attempts=attempt_row.number
        ).update(state=NodeState.SUCCEEDED, finished_at=now, exit_code=0, error="")
        if not moved:
            return None
        if children:
            siblings = NodeRun.objects.filter(run_id=run_id, node_id__in=children)
            siblings.update(parents_remaining=F("parents_remaining") - 1)
            ready = siblings.filter(parents_remaining=0, state=NodeState.PENDING).values_list(
                "pk", "queue"
            )
            to_send: list[tuple[int, str]] = []
            for pk, queue in list(ready):
                keep = claimed is None and queue == node_run.queue
                # The guarded PENDING -> QUEUED write picks exactly one sender per child,
                # however many parents finish at the same moment. A claimed child carries a
                # heartbeat: should this worker die before launching it, the reaper sees the
                # claim go stale and sends it.
                if NodeRun.objects.filter(pk=pk, state=NodeState.PENDING).update(
                    state=NodeState.QUEUED, queued_at=now, heartbeat_at=now if keep else None
                ):
                    if keep:
                        claimed = pk
                    else:
                        to_send.append((pk, queue))
            send_nodes(to_send)
    finish_run_if_done(run_id)
    return claimed


def fail_node(
    node_run: NodeRun,
    compiled: CompiledDefinition,
    *,
    error: str,
    exit_code: int | None = None,
    from_states: frozenset[NodeState] = frozenset({NodeState.RUNNING}),
    attempt: int | None = None,
) -> None:
    """A final failure: the node fails and the DAG's failure policy decides what else stops.
    With `attempt`, only if that attempt is still the node's current one."""
    node_id, run_id = node_run.node_id, node_run.run_id
    now = timezone.now()
    rows = NodeRun.objects.filter(pk=node_run.pk, state__in=from_states)
    if attempt is not None:
        rows = rows.filter(attempts=attempt)
    with transaction.atomic():
        moved = rows.update(
            state=NodeState.FAILED, finished_at=now, exit_code=exit_code, error=error
        )
        if not moved:
            return
        record_event(run_id, f"Node {node_id} failed: {error}", node_id=node_id, error=True)
        states = dict(NodeRun.objects.filter(run_id=run_id).values_list("node_id", "state"))
        plan = plan_failure(compiled.graph, states, node_id, compiled.definition.failure_policy)
        if plan.upstream_failed:
            NodeRun.objects.filter(
                run_id=run_id, node_id__in=plan.upstream_failed, state=NodeState.PENDING
            ).update(state=NodeState.UPSTREAM_FAILED, finished_at=now)
        if plan.cancel_pending:
            NodeRun.objects.filter(
                run_id=run_id, node_id__in=plan.cancel_pending, state=NodeState.PENDING
            ).update(state=NodeState.CANCELLED, finished_at=now)
        if plan.cancel_active:
            NodeRun.objects.filter(
                run_id=run_id,
                node_id__in=plan.cancel_active,
                state__in=LAUNCHABLE | {NodeState.RUNNING},
            ).update(state=NodeState.CANCELLED, finished_at=now)
    finish_run_if_done(run_id)
