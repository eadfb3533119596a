"""Read queries shared by the pages, the API and the commands."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import QuerySet

from autoscaler.charts import Chart, line_chart
from autoscaler.models import AgentNode, Pool, PoolEvaluation
from autoscaler.states import NodeLiveness

CHART_WINDOW = dt.timedelta(hours=24)
CHART_POINTS = 600
EVALUATIONS_SHOWN = 50


@dataclass(frozen=True)
class PoolSummary:
    pool: Pool
    latest: PoolEvaluation | None

    @property
    def size(self) -> int | None:
        return self.latest.size_after if self.latest else None


def pool_summaries() -> list[PoolSummary]:
    return [
        PoolSummary(pool, pool.evaluations.order_by("-at", "-id").first())
        for pool in Pool.objects.all()
    ]


def recent_evaluations(pool: Pool, *, limit: int = EVALUATIONS_SHOWN) -> QuerySet[PoolEvaluation]:
    return pool.evaluations.order_by("-at", "-id")[:limit]


def pool_charts(pool: Pool, *, now: dt.datetime) -> tuple[Chart, Chart]:
    """Size, and CPU with RAM, over the last day of evaluations, oldest first."""
    rows = list(
        pool.evaluations.filter(at__gte=now - CHART_WINDOW, at__lte=now)
        .order_by("-at", "-id")
        .values("at", "size_after", "cpu", "ram")[:CHART_POINTS]
    )
    rows.reverse()
    times = [row["at"] for row in rows]
    size = line_chart(
        "Size",
        times,
        [("size", "size", [row["size_after"] for row in rows])],
        y_max=float(max(pool.max_size, 1)),
    )
    usage = line_chart(
        "CPU and RAM (%)",
        times,
        [
            ("CPU %", "cpu", [row["cpu"] for row in rows]),
            ("RAM %", "ram", [row["ram"] for row in rows]),
        ],
        y_max=100.0,
    )
    return size, usage


@dataclass(frozen=True)
class NodeRow:
    node: AgentNode
    liveness: NodeLiveness

    @property
    def liveness_label(self) -> str:
        return self.liveness.value.replace("_", " ").capitalize()

    @property
    def lost(self) -> bool:
        return self.liveness is NodeLiveness.LOST


def node_rows(*, now: dt.datetime) -> list[NodeRow]:
    """Every agent with its liveness; lost ones first, because they need someone."""
    rows = [NodeRow(node, node.liveness_at(now)) for node in AgentNode.objects.all()]
    return sorted(rows, key=lambda row: (not row.lost, row.node.name, row.node.pk))
