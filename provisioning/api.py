"""JSON endpoints: list and start deployments, show one, deprovision one.

They use the web session (log in first; POSTs carry the CSRF token, as for any form). The
bodies are the shapes ``provisioning.render`` documents.
"""

from __future__ import annotations

import json
from typing import Any

from django.db import transaction
from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_http_methods, require_POST

from provisioning import config, render, selectors
from provisioning.errors import DeploymentNotFound, ProvisioningError
from provisioning.services.deployments import create_deployment

NOT_LOGGED_IN = "Log in first: these endpoints use the web session."
BAD_JSON = "The request body must be a JSON object."


def _refusal(status: int, message: str) -> JsonResponse:
    return JsonResponse({"error": message}, status=status)


def _body(request: HttpRequest) -> dict[str, Any] | None:
    try:
        body = json.loads(request.body or b"{}")
    except (ValueError, UnicodeDecodeError):
        return None
    return body if isinstance(body, dict) else None


@require_http_methods(["GET", "POST"])
def deployments(request: HttpRequest) -> JsonResponse:
    if not request.user.is_authenticated:
        return _refusal(401, NOT_LOGGED_IN)
    if request.method == "GET":
        return JsonResponse([render.summary_data(d) for d in selectors.deployments()], safe=False)
    body = _body(request)
    if body is None:
        return _refusal(400, BAD_JSON)
    dry_run = body.get("dry_run")
    try:
        deployment = create_deployment(
            repo_url=str(body.get("repo_url") or body.get("repo") or ""),
            name=body.get("name"),
            node_type=body.get("node_type"),
            duration_hours=body.get("duration_hours"),
            dry_run=bool(dry_run) if dry_run is not None else None,
            created_by=request.user.get_username(),
        )
    except ProvisioningError as error:
        return _refusal(400, str(error))
    data = render.detail_data(deployment, selectors.steps_of(deployment))
    return JsonResponse(data, status=201)


def deployment(request: HttpRequest, name: str) -> JsonResponse:
    if not request.user.is_authenticated:
        return _refusal(401, NOT_LOGGED_IN)
    try:
        found = selectors.deployment_by_name(name)
    except DeploymentNotFound as error:
        return _refusal(404, str(error))
    return JsonResponse(render.detail_data(found, selectors.steps_of(found)))


@require_POST
def deprovision(request: HttpRequest, name: str) -> JsonResponse:
    from provisioning.tasks import deprovision as deprovision_task

    if not request.user.is_authenticated:
        return _refusal(401, NOT_LOGGED_IN)
    try:
        found = selectors.deployment_by_name(name)
    except DeploymentNotFound as error:
        return _refusal(404, str(error))
    transaction.on_commit(
        lambda: deprovision_task.apply_async(args=[found.name], queue=config.queue())
    )
    return JsonResponse({"name": found.name, "deprovision": "sent"}, status=202)


__all__ = ["deployment", "deployments", "deprovision"]
