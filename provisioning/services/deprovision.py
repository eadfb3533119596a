"""Remove what a deployment made: the server, then its floating IP, then the lease.

Whatever exists, in that order, any number of times: each delete of something already gone is
success, and each removal is recorded as it happens, so an interrupted deprovision continues where
it stopped. The SSH key pair is shared by deployments and stays.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone

from provisioning import config
from provisioning.errors import (
    NO_CLOUD_CONFIGURED,
    NOT_FOUND,
    DeploymentNotFound,
    ProvisioningError,
)
from provisioning.models import Deployment, DeploymentStep
from provisioning.states import DEPLOYMENT_DEPROVISIONABLE, DeploymentState, StepState

logger = logging.getLogger(__name__)


@dataclass
class DeprovisionReport:
    deployment: Deployment
    removed: list[str] = field(default_factory=list)
    already_gone: list[str] = field(default_factory=list)

    @property
    def summary(self) -> str:
        parts = []
        if self.removed:
            parts.append("removed " + ", ".join(self.removed))
        if self.already_gone:
            parts.append("already gone: " + ", ".join(self.already_gone))
        return "; ".join(parts) or "nothing in the cloud to remove"


def send_deprovision(deployment: Deployment) -> None:
    """Hand the deprovision to a worker once the transaction commits (the page and the API)."""
    from provisioning.tasks import deprovision as deprovision_task

    name, queue = deployment.name, config.queue()
    transaction.on_commit(lambda: deprovision_task.apply_async(args=[name], queue=queue))


def deprovision(*, name: str) -> DeprovisionReport:
    deployment = Deployment.objects.filter(name=name).first()
    if deployment is None:
        raise DeploymentNotFound(NOT_FOUND.format(name=name))
    now = timezone.now()
    Deployment.objects.filter(pk=deployment.pk, state__in=DEPLOYMENT_DEPROVISIONABLE).update(
        state=DeploymentState.DEPROVISIONING, heartbeat_at=now
    )
    # Steps not finished will not run now.
    DeploymentStep.objects.filter(
        deployment=deployment, state__in=(StepState.PENDING, StepState.WAITING)
    ).update(state=StepState.SKIPPED, message="not run: the deployment was deprovisioned")
    deployment.refresh_from_db()
    report = remove_cloud_resources(deployment)
    Deployment.objects.filter(pk=deployment.pk, state=DeploymentState.DEPROVISIONING).update(
        state=DeploymentState.DEPROVISIONED,
        deprovisioned_at=now,
        finished_at=deployment.finished_at or now,
        current_step="",
    )
    deployment.refresh_from_db()
    report.deployment = deployment
    return report


def remove_cloud_resources(deployment: Deployment) -> DeprovisionReport:
    """Delete the server, release the floating IP, delete the lease: whatever is recorded."""
    # openstacksdk takes a third of a second to import: only a deprovision pays for it, not
    # every web, worker and command process that loads the URLs.
    from provisioning.cloud import openstack as cloud

    report = DeprovisionReport(deployment)
    if not deployment.cloud_resources():
        return report
    access = config.cloud_access()
    if access is None:
        raise ProvisioningError(NO_CLOUD_CONFIGURED)
    conn = config.connect(access)
    try:
        if deployment.server_id:
            _note(report, f"server {deployment.server_id}",
                  cloud.delete_server(conn, deployment.server_id))  # fmt: skip
            _forget(deployment, server_id="", fixed_ip="")
        if deployment.floating_ip:
            _note(report, f"floating IP {deployment.floating_ip}",
                  cloud.release_floating_ip(conn, deployment.floating_ip_id
                                            or deployment.floating_ip))  # fmt: skip
            _forget(deployment, floating_ip="", floating_ip_id="")
        if deployment.lease_id:
            _note(report, f"lease {deployment.lease_id}",
                  cloud.delete_lease(conn, deployment.lease_id))  # fmt: skip
            _forget(deployment, lease_id="", reservation_id="")
    finally:
        conn.close()
    Deployment.objects.filter(pk=deployment.pk).update(leftovers=[])
    logger.info("Deprovisioned %s: %s", deployment.name, report.summary)
    return report


def _note(report: DeprovisionReport, what: str, existed: bool) -> None:
    (report.removed if existed else report.already_gone).append(what)


def _forget(deployment: Deployment, **fields: str) -> None:
    """The id goes once its resource is gone; the info record keeps the history."""
    Deployment.objects.filter(pk=deployment.pk).update(**fields)
    for name, value in fields.items():
        setattr(deployment, name, value)
