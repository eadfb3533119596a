"""The REST API for deployments: list and start them, show one, deprovision one.

The house API under ``/api/``: an API token or the web session (whose writes carry the CSRF
token), and the role check every surface asks (viewers read; starting and deprovisioning a
deployment need ``Action.PROVISION``). The bodies are the documents ``dagyard deployments
list|show --json`` prints (``provisioning.render``); the list is paged like the runs. Refusals
have the one error shape (``orchestrator.api_errors``): 400 names the field, 404 an unknown
deployment.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from orchestrator.api_errors import invalid
from orchestrator.api_pagination import paginated
from orchestrator.roles import Action
from provisioning import render, selectors
from provisioning.errors import DeploymentNotFound, ProvisioningError
from provisioning.models import Deployment
from provisioning.services.deployments import create_deployment
from provisioning.services.deprovision import send_deprovision

OBJECT = OpenApiTypes.OBJECT
REPO_URL_REQUIRED = "Send the repository to deploy as repo_url."
PAGES = [OpenApiParameter("page", int), OpenApiParameter("page_size", int)]


@extend_schema_field(OpenApiTypes.INT)
class LeaseHours(serializers.Field):
    """Passed on as sent: the service checks it, so the form, the command and the API refuse a
    bad lease length in the same words."""

    def to_internal_value(self, data: Any) -> Any:
        return data

    def to_representation(self, value: Any) -> Any:
        return value


class DeploymentInput(serializers.Serializer):
    repo_url = serializers.CharField(
        required=False, help_text="The git repository to deploy (http(s), ssh, git, file)."
    )
    repo = serializers.CharField(required=False, help_text="Another name for repo_url.")
    name = serializers.CharField(
        required=False, allow_blank=True, allow_null=True, help_text="Default: from the URL."
    )
    node_type = serializers.CharField(
        required=False, allow_blank=True, allow_null=True, help_text="Default: chosen for you."
    )
    duration_hours = LeaseHours(
        required=False, allow_null=True, help_text="Lease length, 1-168 h; default: chosen."
    )
    dry_run = serializers.BooleanField(
        allow_null=True,
        default=None,
        help_text="Plan only, touching no cloud; default: a dry run when no cloud is configured.",
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if not (attrs.get("repo_url") or attrs.get("repo")):
            raise ValidationError({"repo_url": [REPO_URL_REQUIRED]})
        return attrs


def deployment_or_404(name: str) -> Deployment:
    try:
        return selectors.deployment_by_name(name)
    except DeploymentNotFound as error:
        raise NotFound(str(error)) from error


def detail_document(deployment: Deployment) -> dict[str, Any]:
    return render.detail_data(deployment, selectors.steps_of(deployment))


class DeploymentList(APIView):
    actions_by_method = {"GET": Action.VIEW, "POST": Action.PROVISION}

    @extend_schema(
        parameters=PAGES,
        responses=OBJECT,
        operation_id="deployments_list",
        summary="Deployments, newest first (paginated)",
    )
    def get(self, request: Request) -> Response:
        return paginated(request, selectors.deployments(limit=None), render.summary_data)

    @extend_schema(
        request=DeploymentInput,
        responses={201: OBJECT},
        operation_id="deployments_create",
        summary="Provision a server for a repository, or only plan it (dry run)",
    )
    def post(self, request: Request) -> Response:
        body = DeploymentInput(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        try:
            deployment = create_deployment(
                repo_url=data.get("repo_url") or data["repo"],
                name=data.get("name"),
                node_type=data.get("node_type"),
                duration_hours=data.get("duration_hours"),
                dry_run=data["dry_run"],
                created_by=request.user.get_username(),
            )
        except ProvisioningError as refusal:
            raise invalid(str(refusal), getattr(refusal, "field", None)) from refusal
        return Response(detail_document(deployment), status=status.HTTP_201_CREATED)


class DeploymentDetail(APIView):
    actions_by_method = {"GET": Action.VIEW}

    @extend_schema(
        responses=OBJECT,
        operation_id="deployments_retrieve",
        summary="One deployment: plan, cloud ids, SSH command, steps",
    )
    def get(self, request: Request, name: str) -> Response:
        return Response(detail_document(deployment_or_404(name)))


class DeploymentDeprovision(APIView):
    actions_by_method = {"POST": Action.PROVISION}

    @extend_schema(
        request=None,
        responses={202: OBJECT},
        operation_id="deployments_deprovision",
        summary="Remove what the deployment made in the cloud (a task; may be repeated)",
    )
    def post(self, request: Request, name: str) -> Response:
        deployment = deployment_or_404(name)
        send_deprovision(deployment)
        return Response(
            {"name": deployment.name, "deprovision": "sent"}, status=status.HTTP_202_ACCEPTED
        )
