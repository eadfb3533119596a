"""Server-rendered pages: the deployments with a form to start one, and one deployment's steps,
plan, decision sources and SSH command. A page of an active deployment refreshes itself.

Starting and deprovisioning a deployment need ``Action.PROVISION`` (operators), as in the API.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from orchestrator.page_access import requires
from orchestrator.roles import Action, allowed
from provisioning import config, selectors
from provisioning import render as text
from provisioning.errors import DeploymentNotFound, ProvisioningError
from provisioning.forms import DeploymentForm
from provisioning.models import Deployment
from provisioning.services.deployments import create_deployment
from provisioning.services.deprovision import send_deprovision
from provisioning.states import DEPLOYMENT_ACTIVE, DeploymentState

REFRESH_SECONDS = 3
NOT_ALLOWED = "Your role does not allow this (provision)."


def require_provision(request: HttpRequest) -> None:
    if not allowed(request.user, Action.PROVISION):
        raise PermissionDenied(NOT_ALLOWED)


@requires(Action.VIEW)
def deployment_list(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        require_provision(request)
    form = DeploymentForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            deployment = create_deployment(
                repo_url=data["repo_url"],
                name=data["name"] or None,
                node_type=data["node_type"] or None,
                duration_hours=data["duration_hours"],
                dry_run=True if data["dry_run"] else None,
                created_by=request.user.get_username(),
            )
        except ProvisioningError as error:
            form.add_error(None, str(error))
        else:
            return redirect("provisioning:deployment-detail", name=deployment.name)
    context = {
        "deployments": selectors.deployments(),
        "form": form,
        "cloud_configured": config.cloud_access() is not None,
        "can_provision": allowed(request.user, Action.PROVISION),
        "refresh": any(d.state in DEPLOYMENT_ACTIVE for d in selectors.deployments(limit=20)),
        "refresh_seconds": REFRESH_SECONDS,
    }
    return render(request, "provisioning/deployment_list.html", context)


def _deployment_or_404(name: str) -> Deployment:
    try:
        return selectors.deployment_by_name(name)
    except DeploymentNotFound as error:
        raise Http404(str(error)) from None


@requires(Action.VIEW)
def deployment_detail(request: HttpRequest, name: str) -> HttpResponse:
    deployment = _deployment_or_404(name)
    context = {
        "deployment": deployment,
        "steps": selectors.steps_of(deployment),
        "plan_lines": text.plan_lines(deployment.plan),
        "decisions": (deployment.plan or {}).get("decisions", {}),
        "lease_attempts": (deployment.plan or {}).get("lease_attempts", []),
        "refresh": deployment.state in DEPLOYMENT_ACTIVE
        or deployment.state == DeploymentState.DEPROVISIONING,
        "refresh_seconds": REFRESH_SECONDS,
        "can_deprovision": deployment.state != DeploymentState.DEPROVISIONED
        and allowed(request.user, Action.PROVISION),
    }
    return render(request, "provisioning/deployment_detail.html", context)


@requires(Action.PROVISION)
@require_POST
def deployment_deprovision(request: HttpRequest, name: str) -> HttpResponse:
    deployment = _deployment_or_404(name)
    send_deprovision(deployment)
    return redirect("provisioning:deployment-detail", name=deployment.name)
