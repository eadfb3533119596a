"""Server-rendered pages: the pools with their size and load over time, and the agent nodes."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone

from autoscaler import selectors
from autoscaler.models import LOST_AFTER_INTERVALS, Pool
from orchestrator.page_access import requires
from orchestrator.roles import Action


@requires(Action.VIEW)
def pool_list(request: HttpRequest) -> HttpResponse:
    return render(request, "autoscaler/pool_list.html", {"summaries": selectors.pool_summaries()})


@requires(Action.VIEW)
def pool_detail(request: HttpRequest, pool_id: int) -> HttpResponse:
    pool = get_object_or_404(Pool, pk=pool_id)
    size_chart, usage_chart = selectors.pool_charts(pool, now=timezone.now())
    context = {
        "pool": pool,
        "charts": (size_chart, usage_chart),
        "evaluations": selectors.recent_evaluations(pool),
    }
    return render(request, "autoscaler/pool_detail.html", context)


@requires(Action.VIEW)
def node_list(request: HttpRequest) -> HttpResponse:
    context = {
        "rows": selectors.node_rows(now=timezone.now()),
        "lost_after_intervals": LOST_AFTER_INTERVALS,
    }
    return render(request, "autoscaler/node_list.html", context)
