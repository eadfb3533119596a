"""The REST API for DAGs, runs, node runs, logs, queues and workers.

Each view parses the request, calls one selector or service, and answers with the same JSON
documents `dagyard ... --json` prints (see `dags.documents`). Refusals keep one shape (see
`orchestrator.api_errors`): 400 names the bad field, 404 an unknown DAG, run or node, and 409 a
state change the run's state or the DAG's limits refuse.
"""

from __future__ import annotations

from django.db.models import ProtectedError
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from dags import documents, selectors
from dags.errors import DagError, RunRefused
from dags.models import DagRun, NodeRun
from dags.selectors import dag_summaries
from dags.services.clones import AutoCloneManaged, clone_dag, ensure_not_auto_clone
from dags.services.control import set_paused_by_hand
from dags.services.definitions import SubmissionRefused, save_definition, submitted_definition
from dags.services.runs import cancel_run, retry_run, start_run
from dags.states import NodeState, RunState
from orchestrator.api_errors import CONFLICT, error_response
from orchestrator.api_pagination import paginated
from orchestrator.roles import Action

OBJECT = OpenApiTypes.OBJECT
RUN_STATES = frozenset(state.value for state in RunState)
NODE_STATES = frozenset(state.value for state in NodeState)


class DefinitionInput(serializers.Serializer):
    definition = serializers.JSONField(help_text="The definition, in Dagyard's format.")
    folder = serializers.CharField(required=False, help_text="Where its scripts live.")


class TriggerInput(serializers.Serializer):
    params = serializers.DictField(
        child=serializers.CharField(allow_blank=True), required=False, default=dict
    )


class PauseInput(serializers.Serializer):
    cancel_active = serializers.BooleanField(required=False, default=False)


def lookup(function, *args):
    """A selector's "no such DAG/run/node" becomes a 404."""
    try:
        return function(*args)
    except DagError as error:
        raise NotFound(str(error)) from error


def conflict(error: DagError) -> Response:
    return error_response(CONFLICT, "conflict", str(error))


def user_name(request: Request) -> str:
    return request.user.get_username()


class DagList(APIView):
    actions_by_method = {"GET": Action.VIEW, "POST": Action.EDIT_DEFINITIONS}

    @extend_schema(
        responses=OBJECT, operation_id="dags_list", summary="DAGs with their schedules and runs"
    )
    def get(self, request: Request) -> Response:
        return Response([documents.dag_summary_data(s) for s in dag_summaries()])

    @extend_schema(
        request=DefinitionInput,
        responses={201: OBJECT, 200: OBJECT},
        summary="Create a DAG from a definition, or replace one of that name",
    )
    def post(self, request: Request) -> Response:
        return save_submitted(request, name=None)


class DagDetail(APIView):
    actions_by_method = {
        "GET": Action.VIEW,
        "PUT": Action.EDIT_DEFINITIONS,
        "DELETE": Action.EDIT_DEFINITIONS,
    }

    @extend_schema(responses=OBJECT, summary="One DAG: definition, thresholds, recent runs")
    def get(self, request: Request, name: str) -> Response:
        return Response(documents.dag_detail_data(lookup(selectors.dag_detail, name)))

    @extend_schema(request=DefinitionInput, responses=OBJECT, summary="Replace a DAG's definition")
    def put(self, request: Request, name: str) -> Response:
        dag = lookup(selectors.dag_by_name, name)
        try:
            ensure_not_auto_clone(dag, action="edited")
        except AutoCloneManaged as refusal:
            return conflict(refusal)
        return save_submitted(request, name=name)

    @extend_schema(responses={204: None}, summary="Delete a DAG and its runs")
    def delete(self, request: Request, name: str) -> Response:
        dag = lookup(selectors.dag_by_name, name)
        try:
            ensure_not_auto_clone(dag, action="deleted")
        except AutoCloneManaged as refusal:
            return conflict(refusal)
        if dag.runs.filter(state__in=[RunState.QUEUED, RunState.RUNNING]).exists():
            return conflict(DagError(f"DAG {name!r} has runs in flight; cancel them first"))
        try:
            dag.delete()
        except ProtectedError as error:
            return conflict(DagError(str(error)))
        return Response(status=status.HTTP_204_NO_CONTENT)


def save_submitted(request: Request, *, name: str | None) -> Response:
    body = DefinitionInput(data=request.data)
    body.is_valid(raise_exception=True)
    try:
        definition = submitted_definition(
            body.validated_data["definition"], folder=body.validated_data.get("folder"), name=name
        )
    except SubmissionRefused as refusal:
        raise ValidationError({refusal.field: refusal.problems}) from refusal
    existed = selectors.dag_exists(definition.name)
    if existed:
        try:
            ensure_not_auto_clone(selectors.dag_by_name(definition.name), action="edited")
        except AutoCloneManaged as refusal:
            return conflict(refusal)
    dag, _changed = save_definition(definition, source_path="api")
    answer = documents.dag_detail_data(selectors.dag_detail(dag.name))
    return Response(answer, status=status.HTTP_200_OK if existed else status.HTTP_201_CREATED)


class DagRuns(APIView):
    actions_by_method = {"GET": Action.VIEW, "POST": Action.TRIGGER}

    @extend_schema(responses=OBJECT, summary="Runs of one DAG, newest first (paginated)")
    def get(self, request: Request, name: str) -> Response:
        dag = lookup(selectors.dag_by_name, name)
        return paginated(
            request, selectors.runs(dag=dag.name, limit=None), documents.listed_run_data
        )

    @extend_schema(request=TriggerInput, responses={201: OBJECT}, summary="Trigger a run")
    def post(self, request: Request, name: str) -> Response:
        dag = lookup(selectors.dag_by_name, name)
        body = TriggerInput(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            run = start_run(
                dag=dag,
                params=body.validated_data["params"],
                trigger=DagRun.Trigger.API,
                triggered_by=user_name(request),
            )
        except RunRefused as refusal:
            return conflict(refusal)
        except DagError as error:
            raise ValidationError({"params": [str(error)]}) from error
        return Response(run_document(run), status=status.HTTP_201_CREATED)


class DagPause(APIView):
    """Stop (pause) or start (resume) a DAG's scheduled runs."""

    actions_by_method = {"POST": Action.START_STOP}
    paused = True

    @extend_schema(request=PauseInput, responses=OBJECT)
    def post(self, request: Request, name: str) -> Response:
        dag = lookup(selectors.dag_by_name, name)
        body = PauseInput(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            set_paused_by_hand(
                dag=dag,
                paused=self.paused,
                cancel_active=self.paused and body.validated_data["cancel_active"],
                by=user_name(request),
            )
        except AutoCloneManaged as refusal:
            return conflict(refusal)
        return Response(documents.dag_detail_data(selectors.dag_detail(dag.name)))


class DagResume(DagPause):
    paused = False


class DagClone(APIView):
    """The manual Clone action: an ordinary, started clone the user owns."""

    actions_by_method = {"POST": Action.CLONE}

    @extend_schema(request=None, responses=OBJECT, summary="Clone a DAG (an ordinary clone)")
    def post(self, request: Request, name: str) -> Response:
        dag = lookup(selectors.dag_by_name, name)
        try:
            clone = clone_dag(dag=dag, by=user_name(request))
        except DagError as refusal:
            return conflict(refusal)
        data = documents.dag_detail_data(selectors.dag_detail(clone.name))
        return Response(data, status=status.HTTP_201_CREATED)


RUN_FILTERS = [
    OpenApiParameter("dag", str, description="only runs of this DAG"),
    OpenApiParameter("state", str, enum=[s.value for s in RunState]),
    OpenApiParameter("page", int),
]


class RunList(APIView):
    actions_by_method = {"GET": Action.VIEW}

    @extend_schema(
        parameters=RUN_FILTERS,
        responses=OBJECT,
        operation_id="runs_list",
        summary="Runs, newest first",
    )
    def get(self, request: Request) -> Response:
        state = request.query_params.get("state")
        if state and state not in RUN_STATES:
            raise ValidationError({"state": [f"unknown run state {state!r}"]})
        dag = request.query_params.get("dag")
        if dag:
            lookup(selectors.dag_by_name, dag)
        found = selectors.runs(dag=dag, state=state, limit=None)
        return paginated(request, found, documents.listed_run_data)


class RunDetail(APIView):
    actions_by_method = {"GET": Action.VIEW}

    @extend_schema(responses=OBJECT, summary="One run with its nodes")
    def get(self, request: Request, run_id: int) -> Response:
        return Response(run_document(lookup(selectors.run_by_id, run_id)))


def run_document(run: DagRun) -> dict:
    return documents.run_detail_data(run, list(selectors.node_runs_of(run)))


class RunCancel(APIView):
    actions_by_method = {"POST": Action.CANCEL}
    service = staticmethod(cancel_run)

    @extend_schema(request=None, responses=OBJECT)
    def post(self, request: Request, run_id: int) -> Response:
        run = lookup(selectors.run_by_id, run_id)
        try:
            run = self.service(run=run, by=user_name(request))
        except RunRefused as refusal:
            return conflict(refusal)
        return Response(run_document(run))


class RunRetry(RunCancel):
    actions_by_method = {"POST": Action.RETRY}
    service = staticmethod(retry_run)


class RunLog(APIView):
    actions_by_method = {"GET": Action.VIEW}

    @extend_schema(responses=OBJECT, summary="The run's event log with each attempt merged in")
    def get(self, request: Request, run_id: int) -> Response:
        run = lookup(selectors.run_by_id, run_id)
        return Response(documents.events_data(run, selectors.run_log(run)))


class NodeRunList(APIView):
    actions_by_method = {"GET": Action.VIEW}

    @extend_schema(
        parameters=[OpenApiParameter("state", str, enum=[s.value for s in NodeState])],
        responses=OBJECT,
        summary="The run's node runs (paginated)",
    )
    def get(self, request: Request, run_id: int) -> Response:
        run = lookup(selectors.run_by_id, run_id)
        found = NodeRun.objects.filter(run=run).order_by("pk")
        state = request.query_params.get("state")
        if state:
            if state not in NODE_STATES:
                raise ValidationError({"state": [f"unknown node state {state!r}"]})
            found = found.filter(state=state)
        return paginated(request, found, documents.node_run_data)


class NodeLog(APIView):
    actions_by_method = {"GET": Action.VIEW}

    @extend_schema(responses=OBJECT, summary="A node's attempts with their output and timings")
    def get(self, request: Request, run_id: int, node_id: str) -> Response:
        run = lookup(selectors.run_by_id, run_id)
        node_run = lookup(selectors.node_run_of, run, node_id)
        attempts = list(selectors.node_attempts(node_run))
        return Response(documents.node_attempts_data(node_run, attempts))


class Queues(APIView):
    actions_by_method = {"GET": Action.VIEW}

    @extend_schema(responses=OBJECT, summary="Celery queues and the messages waiting in each")
    def get(self, request: Request) -> Response:
        return Response([{"queue": q, "depth": d} for q, d in selectors.queue_depths().items()])


class Workers(APIView):
    actions_by_method = {"GET": Action.VIEW}

    @extend_schema(responses=OBJECT, summary="Workers Celery sees, their queues and active tasks")
    def get(self, request: Request) -> Response:
        return Response(selectors.workers())
