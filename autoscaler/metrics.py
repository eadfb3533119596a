"""``/metrics`` in Prometheus' text format: desired workers per worker type and what feeds them.

Written by hand rather than through a client library: every value is read fresh from Redis and
the database at scrape time, so there is no in-process registry to keep in step, and the format
for a handful of gauges is a few lines.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping

from django.conf import settings
from django.db.models import Count

from autoscaler.models import AgentNode, Pool, WorkerPool
from autoscaler.services.workers import queue_depths, worker_demand
from autoscaler.states import NodeLiveness
from dags.models import DagRun, NodeRun
from dags.states import NodeState, RunState

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

Sample = tuple[Mapping[str, str], float]


def render_metrics(*, now: dt.datetime) -> str:
    worker_pools = list(WorkerPool.objects.all())
    queues = [*settings.TASK_QUEUES, *(pool.worker_type for pool in worker_pools)]
    depths = queue_depths(queues)
    demands = worker_demand(worker_pools, depths=depths)
    blocks = [
        _gauge(
            "orchestrator_desired_workers",
            "Workers each worker type (Celery queue) needs for its current queue depth.",
            [({"worker_type": d.worker_type}, d.desired) for d in demands],
        ),
        _gauge(
            "orchestrator_queue_depth",
            "Messages waiting in each Celery queue.",
            [({"queue": queue}, depth) for queue, depth in depths.items()],
        ),
        _gauge(
            "dagyard_dag_runs",
            "DAG runs by state.",
            _by_state(DagRun.objects.values("state").annotate(n=Count("id")), RunState),
        ),
        _gauge(
            "dagyard_node_runs",
            "Node runs by state.",
            _by_state(NodeRun.objects.values("state").annotate(n=Count("id")), NodeState),
        ),
        _gauge(
            "dagyard_pool_size",
            "Each scaled pool's size after its latest evaluation.",
            _pool_sizes(),
        ),
        _gauge(
            "dagyard_agent_nodes",
            "Registered agent nodes by liveness.",
            _node_liveness(now),
        ),
    ]
    return "".join(blocks)


def _by_state(rows: Iterable[Mapping[str, object]], states: Iterable[object]) -> list[Sample]:
    counts = {str(row["state"]): int(row["n"]) for row in rows}  # type: ignore[call-overload]
    return [({"state": str(state)}, counts.get(str(state), 0)) for state in states]


def _pool_sizes() -> list[Sample]:
    samples: list[Sample] = []
    for pool in Pool.objects.all():
        latest = pool.evaluations.exclude(size_after=None).order_by("-at", "-id").first()
        if latest is not None and latest.size_after is not None:
            samples.append(({"pool": pool.name}, latest.size_after))
    return samples


def _node_liveness(now: dt.datetime) -> list[Sample]:
    counts = dict.fromkeys(NodeLiveness, 0)
    for node in AgentNode.objects.only("last_heartbeat_at"):
        counts[node.liveness_at(now)] += 1
    return [({"liveness": liveness.value}, count) for liveness, count in counts.items()]


def _gauge(name: str, help_text: str, samples: Iterable[Sample]) -> str:
    lines = [f"# HELP {name} {help_text}", f"# TYPE {name} gauge"]
    for labels, value in samples:
        rendered = ",".join(f'{key}="{_escape(val)}"' for key, val in labels.items())
        lines.append(f"{name}{{{rendered}}} {_number(value)}")
    return "\n".join(lines) + "\n"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))
