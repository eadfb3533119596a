"""Server-rendered pages for DAGs and runs, and the small JSON documents the run page polls.

Views parse the request, call one selector or service, and render. Every page needs a login and
the viewer role; every action is a POST with a CSRF token and asks ``allowed(user, action)``.
A refused request (``DagError``) becomes a message on the page the user came from, never a 500.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import yaml
from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Count, Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from dags import selectors
from dags.documents import events_data, iso, node_attempts_data
from dags.engine.definition import DagDefinition
from dags.errors import DagError
from dags.models import Dag, DagRun, NodeRun, RunEvent
from dags.services.autoclone import AutoCloneSummary, CloneMark
from dags.services.clones import AutoCloneManaged, clone_dag, ensure_not_auto_clone
from dags.services.control import set_paused_by_hand
from dags.services.definitions import definition_of
from dags.services.runs import cancel_run, parse_params, retry_run, start_run
from dags.states import NODE_SATISFIED, RUN_ACTIVE, RUN_TERMINAL, NodeState, RunState
from orchestrator.page_access import requires
from orchestrator.roles import Action, allowed

RUNS_PER_PAGE = 50
WORKER_INSPECT_TIMEOUT_SECONDS = 1.0
POLL_INTERVAL_MS = 1000

STOPPED_AND_CANCELLED = "DAG {dag} stopped; {count} run(s) in flight cancelled."
STOPPED = "DAG {dag} stopped: it gets no scheduled runs until it is started again."
STARTED = "DAG {dag} started."
TRIGGERED = "Run {run} of {dag} started."
CANCELLED = "Run {run} cancelled."
RETRIED = "Run {run} retried."
CLONED = "DAG {dag} cloned as {clone}: an ordinary clone, started, that you own."
BAD_DATE = "{field} must be a date written YYYY-MM-DD; it was ignored."
BROKER_UNREACHABLE = "The broker did not answer: {error}"

View = Callable[..., HttpResponse]


def abilities(request: HttpRequest) -> dict[str, bool]:
    """What the buttons on a page may offer this user (the POST views check again)."""
    user = request.user
    return {
        "can_trigger": allowed(user, Action.TRIGGER),
        "can_cancel": allowed(user, Action.CANCEL),
        "can_retry": allowed(user, Action.RETRY),
        "can_start_stop": allowed(user, Action.START_STOP),
        "can_clone": allowed(user, Action.CLONE),
    }


def safe_next(request: HttpRequest, method: str = "POST") -> str:
    """The ``next`` field, when it points to one of our own pages; else an empty string."""
    target = (request.POST if method == "POST" else request.GET).get("next", "")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return ""


def back_or(request: HttpRequest, fallback: str) -> HttpResponseRedirect:
    """Back to the page the form was on (the ``next`` field), or to ``fallback``."""
    return HttpResponseRedirect(safe_next(request) or fallback)


def dag_or_404(name: str) -> Dag:
    try:
        return selectors.dag_by_name(name)
    except DagError as error:
        raise Http404(str(error)) from error


def run_or_404(run_id: int) -> DagRun:
    try:
        return selectors.run_by_id(run_id)
    except DagError as error:
        raise Http404(str(error)) from error


def who(request: HttpRequest) -> str:
    return request.user.get_username()


# Dashboard and DAG pages ---------------------------------------------------------------------


@dataclass(frozen=True)
class DagRow:
    summary: selectors.DagSummary
    status: str
    """``running`` (a run in flight), ``stopped`` (paused) or ``idle``."""
    autoclone: AutoCloneSummary | None = None
    """For a parent with an ``autoclone`` section (or auto clones left): badge, state, clones."""
    clone: CloneMark | None = None
    """For a clone: whose clone it is, and whether AutoClone manages it."""


def status_of(summary: selectors.DagSummary) -> str:
    if summary.dag.is_paused:
        return "stopped"
    return "running" if summary.active_runs else "idle"


@require_GET
@requires(Action.VIEW)
def dashboard(request: HttpRequest) -> HttpResponse:
    board = selectors.dag_board()
    rows = [
        DagRow(row.summary, status_of(row.summary), row.autoclone, row.clone) for row in board.rows
    ]
    context = {
        "rows": rows,
        "totals_text": board.totals_text,
        "running": sum(1 for row in rows if row.summary.active_runs),
        "stopped": sum(1 for row in rows if row.status == "stopped"),
        "active_runs": sum(row.summary.active_runs for row in rows),
        **abilities(request),
    }
    return render(request, "dags/dashboard.html", context)


def graph_data(definition: DagDefinition) -> dict[str, Any]:
    """What the page's script draws: node ids in definition order and each one's parents."""
    return {
        "nodes": [node.id for node in definition.nodes],
        "parents": {node.id: list(node.prerequisites) for node in definition.nodes},
    }


@require_GET
@requires(Action.VIEW)
def dag_detail(request: HttpRequest, name: str) -> HttpResponse:
    try:
        detail = selectors.dag_detail(name)
    except DagError as error:
        raise Http404(str(error)) from error
    definition = detail.definition
    context = {
        "detail": detail,
        "dag": detail.dag,
        "definition": definition,
        "thresholds": definition.resources.to_data(),
        "definition_yaml": yaml.safe_dump(
            detail.dag.definition, sort_keys=False, allow_unicode=True
        ),
        "graph": graph_data(definition),
        "autoclone": selectors.dag_autoclone(detail.dag),
        **abilities(request),
    }
    return render(request, "dags/dag_detail.html", context)


@require_POST
@requires(Action.TRIGGER)
def dag_trigger(request: HttpRequest, name: str) -> HttpResponse:
    dag = dag_or_404(name)
    fallback = reverse("dags:dag", args=[dag.name])
    try:
        lines = [line.strip() for line in request.POST.get("params", "").splitlines()]
        params = parse_params(line for line in lines if line)
        run = start_run(dag=dag, params=params, triggered_by=who(request))
    except DagError as error:
        messages.error(request, str(error))
        return back_or(request, fallback)
    messages.success(request, TRIGGERED.format(run=run.pk, dag=dag.name))
    return redirect("dags:run", run_id=run.pk)


@require_POST
@requires(Action.CLONE)
def dag_clone(request: HttpRequest, name: str) -> HttpResponse:
    """The manual Clone action: an ordinary clone, started, whose page opens next."""
    dag = dag_or_404(name)
    try:
        clone = clone_dag(dag=dag, by=who(request))
    except DagError as error:
        messages.error(request, str(error))
        return back_or(request, reverse("dags:dag", args=[dag.name]))
    messages.success(request, CLONED.format(dag=dag.name, clone=clone.name))
    return redirect("dags:dag", name=clone.name)


@require_POST
@requires(Action.START_STOP)
def dag_start(request: HttpRequest, name: str) -> HttpResponse:
    try:
        dag = set_paused_by_hand(dag=dag_or_404(name), paused=False, by=who(request))
    except DagError as error:
        messages.error(request, str(error))
        return back_or(request, reverse("dags:dashboard"))
    messages.success(request, STARTED.format(dag=dag.name))
    return back_or(request, reverse("dags:dashboard"))


def stop_question(request: HttpRequest, dag: Dag, back: HttpResponseRedirect) -> HttpResponse:
    """Whether to cancel the runs in flight; an auto clone is refused before anything is asked."""
    try:
        ensure_not_auto_clone(dag, action="stopped")
    except AutoCloneManaged as refusal:
        messages.error(request, str(refusal))
        return back
    in_flight = DagRun.objects.filter(dag=dag, state__in=RUN_ACTIVE).count()
    context = {"dag": dag, "in_flight": in_flight, "next": safe_next(request, "GET")}
    return render(request, "dags/dag_stop.html", context)


@requires(Action.START_STOP)
def dag_stop(request: HttpRequest, name: str) -> HttpResponse:
    """GET asks whether to cancel the runs in flight; POST stops (and cancels when asked).
    An auto clone is refused at once, before any question: AutoClone manages it."""
    if request.method not in ("GET", "POST"):
        return HttpResponse(status=405, headers={"Allow": "GET, POST"})
    dag = dag_or_404(name)
    back = HttpResponseRedirect(safe_next(request, request.method) or reverse("dags:dashboard"))
    if request.method == "GET":
        return stop_question(request, dag, back)
    in_flight = DagRun.objects.filter(dag=dag, state__in=RUN_ACTIVE).count()
    cancel = request.POST.get("cancel_active") == "yes"
    try:
        set_paused_by_hand(dag=dag, paused=True, cancel_active=cancel, by=who(request))
    except DagError as error:
        messages.error(request, str(error))
        return back
    if cancel and in_flight:
        messages.success(request, STOPPED_AND_CANCELLED.format(dag=dag.name, count=in_flight))
    else:
        messages.success(request, STOPPED.format(dag=dag.name))
    return back


# Runs ----------------------------------------------------------------------------------------


def parse_day(request: HttpRequest, key: str, label: str) -> dt.date | None:
    text = request.GET.get(key, "").strip()
    if not text:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        messages.warning(request, BAD_DATE.format(field=label))
        return None


def run_listing(
    *, dag: str, state: str, day_from: dt.date | None, day_to: dt.date | None
) -> QuerySet[DagRun]:
    """Runs newest first with their node counts, as ``selectors.runs`` gives them, filtered by
    DAG name, state and creation day (local time), unsliced so the paginator can count it."""
    queryset = DagRun.objects.select_related("dag").defer("definition", "dag__definition")
    if dag:
        queryset = queryset.filter(dag__name=dag)
    if state:
        queryset = queryset.filter(state=state)
    if day_from:
        queryset = queryset.filter(created_at__date__gte=day_from)
    if day_to:
        queryset = queryset.filter(created_at__date__lte=day_to)
    return queryset.annotate(
        nodes_total=Count("node_runs"),
        nodes_done=Count("node_runs", filter=Q(node_runs__state__in=NODE_SATISFIED)),
    ).order_by("-created_at", "-id")


@require_GET
@requires(Action.VIEW)
def run_list(request: HttpRequest) -> HttpResponse:
    dag = request.GET.get("dag", "").strip()
    state = request.GET.get("state", "").strip()
    if state and state not in RunState.__members__.values():
        state = ""
    day_from = parse_day(request, "from", "From")
    day_to = parse_day(request, "to", "To")
    listing = run_listing(dag=dag, state=state, day_from=day_from, day_to=day_to)
    page = Paginator(listing, RUNS_PER_PAGE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "page": page,
        "dag_names": Dag.objects.order_by("name").values_list("name", flat=True),
        "states": list(RunState),
        "filters": {"dag": dag, "state": state, "from": day_from, "to": day_to},
        "query": query.urlencode(),
    }
    return render(request, "dags/run_list.html", context)


@require_GET
@requires(Action.VIEW)
def run_detail(request: HttpRequest, run_id: int) -> HttpResponse:
    run = run_or_404(run_id)
    # The run's own copy of the definition, parsed but not compiled: drawing needs no more.
    definition = definition_of(
        run.definition, folder=run.folder, source=f"run {run.pk}", name=run.dag.name
    )
    log = selectors.run_log(run)
    last_event = RunEvent.objects.filter(run=run).order_by("-pk").values_list("pk", flat=True)
    context = {
        "run": run,
        "log": log,
        "graph": graph_data(definition),
        "page_data": {
            "run": run.pk,
            "statusUrl": reverse("dags:run-status", args=[run.pk]),
            "logUrl": reverse("dags:node-log", args=[run.pk, "NODE"]),
            "runLogUrl": reverse("dags:run-log", args=[run.pk]),
            "lastEventId": last_event.first() or 0,
            "pollMs": POLL_INTERVAL_MS,
            "terminal": [state.value for state in RUN_TERMINAL],
            "retryable": [RunState.FAILED.value, RunState.CANCELLED.value],
        },
        "status": run_status(run.pk, after=0, with_events=False),
        "legend": list(NodeState),
        "is_active": run.state in RUN_ACTIVE,
        "is_retryable": run.state in (RunState.FAILED, RunState.CANCELLED),
        **abilities(request),
    }
    return render(request, "dags/run_detail.html", context)


def run_status(run_id: int, *, after: int, with_events: bool = True) -> dict[str, Any] | None:
    """The run's state, every node's state and times, and the events after ``after``.

    Three queries whatever the size of the run: the run's row (its definition left out), the
    node runs as tuples, and the new event rows. The graph itself is in the page already.
    """
    row = (
        DagRun.objects.filter(pk=run_id)
        .values_list("state", "started_at", "finished_at", "error")
        .first()
    )
    if row is None:
        return None
    state, started_at, finished_at, error = row
    nodes = {
        node_id: {
            "state": node_state,
            "started_at": iso(node_started),
            "finished_at": iso(node_finished),
            "attempts": attempts,
        }
        for node_id, node_state, node_started, node_finished, attempts in NodeRun.objects.filter(
            run_id=run_id
        )
        .order_by("pk")
        .values_list("node_id", "state", "started_at", "finished_at", "attempts")
    }
    events = []
    if with_events:
        events = [
            {"id": pk, "time": iso(created), "level": level, "node": node or None, "message": text}
            for pk, created, level, node, text in RunEvent.objects.filter(
                run_id=run_id, pk__gt=after
            )
            .order_by("pk")
            .values_list("pk", "created_at", "level", "node_id", "message")
        ]
    counts: dict[str, int] = {}
    for node in nodes.values():
        counts[node["state"]] = counts.get(node["state"], 0) + 1
    return {
        "run": run_id,
        "state": state,
        "terminal": state in RUN_TERMINAL,
        "started_at": iso(started_at),
        "finished_at": iso(finished_at),
        "now": iso(timezone.now()),
        "error": error,
        "counts": counts,
        "nodes": nodes,
        "events": events,
        "last_event_id": events[-1]["id"] if events else after,
    }


@require_GET
@requires(Action.VIEW)
def run_status_json(request: HttpRequest, run_id: int) -> JsonResponse:
    after = selectors.run_id_of(request.GET.get("after", "0")) or 0
    status = run_status(run_id, after=after)
    if status is None:
        return JsonResponse({"error": f"no run has the id {run_id}"}, status=404)
    return JsonResponse(status)


@require_GET
@requires(Action.VIEW)
def run_log_json(request: HttpRequest, run_id: int) -> JsonResponse:
    """The whole event log with each attempt's start and end merged in: the run page reads it
    once, when the run ends, since the status document carries only new event rows."""
    try:
        run = selectors.run_by_id(run_id)
    except DagError as error:
        return JsonResponse({"error": str(error)}, status=404)
    return JsonResponse(events_data(run, selectors.run_log(run)))


@require_GET
@requires(Action.VIEW)
def node_log_json(request: HttpRequest, run_id: int, node: str) -> JsonResponse:
    try:
        run = selectors.run_by_id(run_id)
        node_run = selectors.node_run_of(run, node)
    except DagError as error:
        return JsonResponse({"error": str(error)}, status=404)
    data = node_attempts_data(node_run, list(selectors.node_attempts(node_run)))
    data["label"] = NodeState(node_run.state).label
    data["error"] = node_run.error
    return JsonResponse(data)


@require_POST
@requires(Action.CANCEL)
def run_cancel(request: HttpRequest, run_id: int) -> HttpResponse:
    run = run_or_404(run_id)
    try:
        cancel_run(run=run, by=who(request))
    except DagError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, CANCELLED.format(run=run.pk))
    return redirect("dags:run", run_id=run.pk)


@require_POST
@requires(Action.RETRY)
def run_retry(request: HttpRequest, run_id: int) -> HttpResponse:
    run = run_or_404(run_id)
    try:
        retry_run(run=run, by=who(request))
    except DagError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, RETRIED.format(run=run.pk))
    return redirect("dags:run", run_id=run.pk)


# Workers -------------------------------------------------------------------------------------


@dataclass
class WorkerRow:
    name: str
    queues: list[str] = field(default_factory=list)
    active: list[dict[str, Any]] = field(default_factory=list)


def celery_workers(timeout: float) -> list[WorkerRow]:
    """The workers that answer within ``timeout``, with their queues and the tasks they run.
    Both questions go out at once, so the page waits one timeout, not two."""
    from orchestrator.celery import app

    inspector = app.control.inspect(timeout=timeout)
    with ThreadPoolExecutor(max_workers=2) as pool:
        queues_reply = pool.submit(inspector.active_queues)
        active_reply = pool.submit(inspector.active)
        queues, active = queues_reply.result() or {}, active_reply.result() or {}
    rows = {name: WorkerRow(name) for name in sorted({*queues, *active})}
    for name, declared in queues.items():
        rows[name].queues = sorted(queue["name"] for queue in declared)
    for name, tasks in active.items():
        rows[name].active = [
            {"id": task.get("id"), "name": task.get("name"), "args": task.get("args")}
            for task in tasks
        ]
    return list(rows.values())


@require_GET
@requires(Action.VIEW)
def workers(request: HttpRequest) -> HttpResponse:
    from autoscaler.models import WorkerPool
    from autoscaler.services.workers import queue_depths

    error = ""
    rows: list[WorkerRow] = []
    depths: dict[str, int] = {}
    try:
        rows = celery_workers(WORKER_INSPECT_TIMEOUT_SECONDS)
        names = [
            *settings.TASK_QUEUES,
            *WorkerPool.objects.values_list("worker_type", flat=True),
            *(queue for row in rows for queue in row.queues),
        ]
        depths = queue_depths(names)
    except Exception as failure:  # any broker error is shown on the page, not raised
        error = BROKER_UNREACHABLE.format(error=failure)
    consumers: dict[str, list[str]] = {}
    for row in rows:
        for queue in row.queues:
            consumers.setdefault(queue, []).append(row.name)
    queues = [
        {"name": name, "depth": depth, "consumers": consumers.get(name, [])}
        for name, depth in depths.items()
    ]
    context = {
        "queues": queues,
        "workers": rows,
        "error": error,
        "timeout": WORKER_INSPECT_TIMEOUT_SECONDS,
    }
    return render(request, "dags/workers.html", context)
