"""Creating a deployment, sending its pipeline, and resuming one whose worker died."""

from __future__ import annotations

import datetime as dt
import logging
import re
from urllib.parse import urlsplit

from django.db import IntegrityError, transaction
from django.utils import timezone

from provisioning import config
from provisioning.ai.schemas import MAX_LEASE_HOURS, MIN_LEASE_HOURS
from provisioning.errors import (
    BAD_DURATION,
    BAD_NAME,
    BAD_NODE_TYPE,
    BAD_REPO_URL,
    NAME_TAKEN,
    DeploymentRefused,
)
from provisioning.models import Deployment, DeploymentStep
from provisioning.repo_analysis import display_url
from provisioning.states import PLAN_STEPS, STEP_DONE, DeploymentState, Step, StepState

logger = logging.getLogger(__name__)

NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{0,49}$")
NODE_TYPE_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")
URL_SCHEMES = ("http", "https", "ssh", "git", "file")
SCP_LIKE = re.compile(r"^[A-Za-z0-9._-]+@[A-Za-z0-9.-]+:[^\s]+$")
NAME_FROM_URL = re.compile(r"[^a-z0-9-]+")


def validate_repo_url(url: str) -> str:
    url = url.strip()
    if not url or url.startswith("-") or any(c.isspace() for c in url):
        raise DeploymentRefused(BAD_REPO_URL.format(url=display_url(url)), field="repo_url")
    if SCP_LIKE.match(url):
        return url
    parts = urlsplit(url)
    if parts.scheme not in URL_SCHEMES or not (parts.netloc or parts.scheme == "file"):
        raise DeploymentRefused(BAD_REPO_URL.format(url=display_url(url)), field="repo_url")
    if parts.scheme == "file" and not parts.path:
        raise DeploymentRefused(BAD_REPO_URL.format(url=url), field="repo_url")
    return url


def name_for(url: str) -> str:
    """A name from the repository's last path part: ``.../ml-project.git`` is ``ml-project``."""
    tail = url.rstrip("/").rsplit("/", 1)[-1].rsplit(":", 1)[-1].removesuffix(".git").lower()
    base = NAME_FROM_URL.sub("-", tail).strip("-")[:40] or "deployment"
    name, number = base, 1
    while Deployment.objects.filter(name=name).exists():
        number += 1
        name = f"{base}-{number}"
    return name


def parse_duration(value: object) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise DeploymentRefused(BAD_DURATION.format(value=value), field="duration_hours")
    try:
        hours = int(str(value).strip())
    except ValueError:
        raise DeploymentRefused(BAD_DURATION.format(value=value), field="duration_hours") from None
    if not MIN_LEASE_HOURS <= hours <= MAX_LEASE_HOURS:
        raise DeploymentRefused(BAD_DURATION.format(value=value), field="duration_hours")
    return hours


def create_deployment(
    *,
    repo_url: str,
    name: str | None = None,
    node_type: str | None = None,
    duration_hours: object = None,
    dry_run: bool | None = None,
    created_by: str = "",
) -> Deployment:
    """Check the request, record the deployment and its steps, and send its pipeline.

    ``dry_run=None`` means a dry run exactly when no cloud credentials are configured. A refusal
    raises ``DeploymentRefused`` and records nothing.
    """
    url = validate_repo_url(repo_url)
    hours = parse_duration(duration_hours)
    node_type = (node_type or "").strip()
    if node_type and not NODE_TYPE_PATTERN.match(node_type):
        raise DeploymentRefused(BAD_NODE_TYPE.format(value=node_type), field="node_type")
    name = (name or "").strip() or name_for(url)
    if not NAME_PATTERN.match(name):
        raise DeploymentRefused(BAD_NAME.format(name=name), field="name")
    if dry_run is None:
        dry_run = config.cloud_access() is None
    steps = PLAN_STEPS if dry_run else tuple(Step)
    try:
        with transaction.atomic():
            deployment = Deployment.objects.create(
                name=name,
                repo_url=display_url(url),
                requested_node_type=node_type,
                requested_duration_hours=hours,
                dry_run=dry_run,
                server_name=name,
                created_by=created_by,
            )
            DeploymentStep.objects.bulk_create(
                DeploymentStep(deployment=deployment, position=index, step=step)
                for index, step in enumerate(steps, start=1)
            )
            send_pipeline(deployment)
    except IntegrityError:
        raise DeploymentRefused(NAME_TAKEN.format(name=name), field="name") from None
    logger.info("Deployment %s created for %s (dry run: %s)", name, deployment.repo_url, dry_run)
    return deployment


def remaining_steps(deployment: Deployment) -> list[Step]:
    rows = DeploymentStep.objects.filter(deployment=deployment).order_by("position")
    return [Step(row.step) for row in rows if row.state not in STEP_DONE]


def send_pipeline(deployment: Deployment) -> None:
    """Send the chain of step tasks from the first step not done, once the transaction commits."""
    from celery import chain

    from provisioning.tasks import STEP_TASKS

    steps = remaining_steps(deployment)
    if not steps:
        return
    queue = config.queue()
    pipeline = chain(*(STEP_TASKS[step].si(deployment.pk).set(queue=queue) for step in steps))
    transaction.on_commit(pipeline.apply_async)


def resume_stalled(*, now: dt.datetime | None = None) -> list[str]:
    """Send the pipeline again for running deployments no worker has touched for a while.

    A worker killed mid-step leaves its message unacknowledged until the broker's visibility
    timeout (hours); this picks the deployment up sooner. Steps already done are passed over and
    every step is idempotent, so a resumed pipeline never redoes finished work.
    """
    now = now or timezone.now()
    stale = now - config.stall_after()
    resumed: list[str] = []
    candidates = Deployment.objects.filter(
        state__in=(DeploymentState.RUNNING, DeploymentState.PENDING), heartbeat_at__lt=stale
    ) | Deployment.objects.filter(
        state=DeploymentState.PENDING, heartbeat_at__isnull=True, created_at__lt=stale
    )
    for deployment in candidates:
        with transaction.atomic():
            claimed = Deployment.objects.filter(
                pk=deployment.pk, state=deployment.state, heartbeat_at=deployment.heartbeat_at
            ).update(heartbeat_at=now)
            if claimed:
                # A step a dead worker left RUNNING is taken up again by the resumed chain.
                send_pipeline(deployment)
                resumed.append(deployment.name)
    if resumed:
        logger.info("Resumed stalled deployments: %s", ", ".join(resumed))
    return resumed


__all__ = ["StepState", "create_deployment", "resume_stalled", "send_pipeline"]
