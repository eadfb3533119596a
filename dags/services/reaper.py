"""Notice work whose worker died, and runs past their deadline, so nothing stays RUNNING.

A worker killed outright cannot report anything: its running nodes stop sending heartbeats.
After `ORPHAN_AFTER_SECONDS` without one, a node is re-queued when its retry settings allow and
failed otherwise, with the failure policy applied as for any failure.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from django.utils import timezone

from dags.engine.retry import has_retry_left
from dags.models import DagRun, NodeRun
from dags.services.definitions import compiled_run
from dags.services.nodes import fail_node
from dags.services.runs import fail_run_past_deadline, record_event, send_nodes
from dags.states import NodeState, RunState

ORPHAN_AFTER_SECONDS = 60.0
WORKER_LOST = "its worker stopped answering (no heartbeat for {seconds:.0f}s)"


@dataclass
class ReapReport:
    requeued: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)
    runs_past_deadline: list[int] = field(default_factory=list)


def reap(*, orphan_after: float = ORPHAN_AFTER_SECONDS) -> ReapReport:
    report = ReapReport()
    now = timezone.now()
    stale = now - timedelta(seconds=orphan_after)
    orphans = NodeRun.objects.select_related("run").filter(
        state=NodeState.RUNNING, heartbeat_at__lt=stale, run__state=RunState.RUNNING
    )
    for node_run in orphans:
        spec = compiled_run(node_run.run).nodes[node_run.node_id]
        error = WORKER_LOST.format(seconds=(now - node_run.heartbeat_at).total_seconds())
        attempts_made = node_run.attempts - node_run.attempts_at_reset
        if has_retry_left(spec.retry, attempts_made):
            moved = NodeRun.objects.filter(
                pk=node_run.pk, state=NodeState.RUNNING, heartbeat_at=node_run.heartbeat_at
            ).update(state=NodeState.QUEUED, queued_at=now, heartbeat_at=None, error=error)
            if moved:
                record_event(node_run.run_id, f"Node {node_run.node_id} {error}; re-queued",
                             node_id=node_run.node_id, error=True)  # fmt: skip
                send_nodes([(node_run.pk, node_run.queue)])
                report.requeued.append(node_run.pk)
        else:
            fail_node(node_run, compiled_run(node_run.run), error=error)
            report.failed.append(node_run.pk)
    claims = NodeRun.objects.filter(
        state=NodeState.QUEUED, heartbeat_at__lt=stale, run__state=RunState.RUNNING
    )
    for node_run in claims:
        # Claimed by a worker to run next, which then died before launching it.
        if NodeRun.objects.filter(
            pk=node_run.pk, state=NodeState.QUEUED, heartbeat_at=node_run.heartbeat_at
        ).update(heartbeat_at=None):
            send_nodes([(node_run.pk, node_run.queue)])
            report.requeued.append(node_run.pk)
    for run in DagRun.objects.filter(state=RunState.RUNNING, deadline_at__lt=now):
        if fail_run_past_deadline(run):
            report.runs_past_deadline.append(run.pk)
    return report
