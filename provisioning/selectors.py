"""Read queries shared by the pages, the API and the commands."""

from __future__ import annotations

from django.db.models import QuerySet

from provisioning.errors import NOT_FOUND, DeploymentNotFound
from provisioning.models import Deployment, DeploymentStep


def deployments(*, limit: int | None = 100) -> QuerySet[Deployment]:
    """Newest first; ``limit=None`` for all of them (the API pages through them)."""
    found = Deployment.objects.all()
    return found if limit is None else found[:limit]


def deployment_by_name(name: str) -> Deployment:
    deployment = Deployment.objects.filter(name=name).first()
    if deployment is None:
        raise DeploymentNotFound(NOT_FOUND.format(name=name))
    return deployment


def steps_of(deployment: Deployment) -> list[DeploymentStep]:
    return list(DeploymentStep.objects.filter(deployment=deployment).order_by("position"))
