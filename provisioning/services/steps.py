"""How one step of a deployment runs: claimed, done, waiting or failed, each a guarded write.

``run_step`` is what every pipeline task calls. It passes over a step already done (a resumed
pipeline continues from the last finished step), claims the step with a guarded UPDATE whose row
count decides (a redelivered message finds it taken), runs its handler, and records the outcome.
A step that must wait for the cloud returns how long to wait; its task retries with that
countdown. Nothing here sleeps.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.db.models import F, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from provisioning import config
from provisioning.errors import (
    CLOUD_UNREACHABLE,
    LEFTOVERS_ADVICE,
    NO_CLOUD_CONFIGURED,
    UNEXPECTED_FAILURE,
    ProvisioningError,
    advice_for,
)
from provisioning.models import Deployment, DeploymentStep
from provisioning.states import (
    PLAN_STEPS,
    STEP_CLAIMABLE,
    STEP_DONE,
    WAIT_STEPS,
    DeploymentState,
    Step,
    StepState,
)

logger = logging.getLogger(__name__)

OUTAGE_MESSAGE = "{detail} Trying again."


@dataclass(frozen=True)
class StepOutcome:
    """What the task does next: go on with the chain, stop it, or look again after a while."""

    proceed: bool
    retry_in: float | None = None


STOP = StepOutcome(proceed=False)
PROCEED = StepOutcome(proceed=True)


@dataclass(frozen=True)
class StepResult:
    """A handler's answer: the step's message, and a wait in seconds if the cloud isn't ready."""

    message: str
    wait_seconds: float | None = None


class StepFailed(ProvisioningError):
    """A step cannot go on; the message is what the user reads."""

    def __init__(self, message: str, *, advice: str = "") -> None:
        super().__init__(message)
        self.advice = advice


@dataclass
class StepContext:
    """What a handler works with: the deployment as it is now, its step row, the time, and the
    cloud connection and advisor, opened the first time they are asked for."""

    deployment: Deployment
    row: DeploymentStep
    now: dt.datetime
    _cloud: Any = field(default=None, repr=False)
    _advisor: Any = field(default=None, repr=False)

    @property
    def cloud(self) -> Any:
        if self._cloud is None:
            access = config.cloud_access()
            if access is None:
                raise StepFailed(NO_CLOUD_CONFIGURED, advice=advice_for(Exception()))
            self._cloud = config.connect(access)
        return self._cloud

    @property
    def advisor(self) -> Any:
        if self._advisor is None:
            self._advisor = config.advisor()
        return self._advisor

    @property
    def waited(self) -> dt.timedelta:
        return self.now - (self.row.started_at or self.now)

    def record(self, **fields: Any) -> None:
        """Store what the cloud handed out the moment it exists (whatever the state), so a
        resumed step or deprovision finds it."""
        Deployment.objects.filter(pk=self.deployment.pk).update(**fields)
        for name, value in fields.items():
            setattr(self.deployment, name, value)

    def update_plan(self, **entries: Any) -> None:
        plan = dict(self.deployment.plan)
        plan.update(entries)
        self.record(plan=plan)

    def close(self) -> None:
        if self._cloud is not None:
            self._cloud.close()
        if self._advisor is not None:
            self._advisor.close()


Handler = Callable[[StepContext], StepResult]


def start_deployment(deployment_id: int, *, now: dt.datetime) -> None:
    Deployment.objects.filter(pk=deployment_id, state=DeploymentState.PENDING).update(
        state=DeploymentState.RUNNING, started_at=now, heartbeat_at=now
    )


def run_step(
    *, deployment_id: int, step: Step, handlers: dict[Step, Handler], now: dt.datetime | None = None
) -> StepOutcome:
    now = now or timezone.now()
    start_deployment(deployment_id, now=now)
    deployment = Deployment.objects.filter(pk=deployment_id).first()
    if deployment is None or deployment.state != DeploymentState.RUNNING:
        return STOP
    row = DeploymentStep.objects.filter(deployment=deployment, step=step).first()
    if row is None or row.state in STEP_DONE:
        return PROCEED
    if row.state not in STEP_CLAIMABLE:
        return STOP
    claimed = DeploymentStep.objects.filter(
        pk=row.pk, state__in=STEP_CLAIMABLE, attempts=row.attempts
    ).update(
        state=StepState.RUNNING,
        attempts=row.attempts + 1,
        # The first start stays: a wait's length counts from it, across retries and resumes.
        started_at=Coalesce(F("started_at"), Value(now)),
    )
    if not claimed:
        return STOP  # another worker took it up a moment ago
    row.refresh_from_db()
    Deployment.objects.filter(pk=deployment.pk, state=DeploymentState.RUNNING).update(
        current_step=step, heartbeat_at=now
    )
    context = StepContext(deployment=deployment, row=row, now=now)
    try:
        result = handlers[step](context)
    except Exception as error:  # every failure becomes the deployment's clear error
        retry_in = _outage_retry(context, error)
        if retry_in is None:
            fail_step(context, error)
            return STOP
        result = StepResult(OUTAGE_MESSAGE.format(detail=failure_text(error)[0]), retry_in)
    finally:
        context.close()
    if result.wait_seconds is not None:
        DeploymentStep.objects.filter(pk=row.pk, state=StepState.RUNNING).update(
            state=StepState.WAITING, message=result.message
        )
        return StepOutcome(proceed=False, retry_in=result.wait_seconds)
    finished = timezone.now()
    DeploymentStep.objects.filter(pk=row.pk, state=StepState.RUNNING).update(
        state=StepState.SUCCEEDED, message=result.message, finished_at=finished
    )
    logger.info("Deployment %s: %s: %s", deployment.name, step.label, result.message)
    if not _still_running(deployment.pk):
        _clean_up_after_deprovision(deployment.pk)
        return STOP
    if _is_last(deployment, step):
        final = DeploymentState.PLANNED if deployment.dry_run else DeploymentState.SUCCEEDED
        Deployment.objects.filter(pk=deployment.pk, state=DeploymentState.RUNNING).update(
            state=final, finished_at=finished, current_step="", heartbeat_at=finished
        )
        return STOP
    return PROCEED


def is_outage(error: Exception) -> bool:
    """The cloud was unreachable or answered 5xx: worth another try, unlike a refusal."""
    from keystoneauth1 import exceptions as auth_exceptions
    from openstack import exceptions as sdk_exceptions

    if isinstance(error, auth_exceptions.ConnectionError | auth_exceptions.ServiceUnavailable):
        return True
    if isinstance(error, auth_exceptions.HttpError | sdk_exceptions.HttpException):
        status = getattr(error, "status_code", None) or getattr(error, "http_status", None)
        return bool(status and int(status) >= 500)
    return False


def _outage_retry(context: StepContext, error: Exception) -> float | None:
    """Seconds until the next try after an outage, or None when the step should fail now.

    A waiting step keeps looking (its own timeout still ends the wait); any other step gets
    ``DAGYARD_CLOUD_TRIES`` tries in all.
    """
    if not is_outage(error):
        return None
    step = Step(context.row.step)
    if step in WAIT_STEPS:
        if step == Step.WAIT_FOR_LEASE:
            timeout, poll = config.lease_timeout(), config.lease_poll_seconds()
        else:
            timeout, poll = config.server_timeout(), config.server_poll_seconds()
        return poll if context.waited < timeout else None
    return config.cloud_retry_seconds() if context.row.attempts < config.cloud_tries() else None


def _is_last(deployment: Deployment, step: Step) -> bool:
    steps = PLAN_STEPS if deployment.dry_run else tuple(Step)
    return step == steps[-1]


def _still_running(deployment_id: int) -> bool:
    return Deployment.objects.filter(pk=deployment_id, state=DeploymentState.RUNNING).exists()


def _clean_up_after_deprovision(deployment_id: int) -> None:
    """A step that made something while deprovision ran removes it again (deletes are
    idempotent), so nothing a deprovisioned deployment made outlives it."""
    from provisioning.services.deprovision import remove_cloud_resources

    deployment = Deployment.objects.get(pk=deployment_id)
    if deployment.state in (DeploymentState.DEPROVISIONING, DeploymentState.DEPROVISIONED):
        remove_cloud_resources(deployment)


def failure_text(error: Exception) -> tuple[str, str]:
    """The error message and advice for any exception a step raises, with secrets scrubbed."""
    from keystoneauth1 import exceptions as auth_exceptions
    from openstack import exceptions as sdk_exceptions

    from provisioning.ai.fallbacks import NoImageAvailable
    from provisioning.cloud.errors import CloudError
    from provisioning.repo_analysis import RepositoryCloneFailed

    if isinstance(error, StepFailed):
        return config.scrub(str(error)), error.advice or advice_for(error)
    if isinstance(error, CloudError | RepositoryCloneFailed | NoImageAvailable):
        return config.scrub(str(error)), advice_for(error)
    if isinstance(error, auth_exceptions.ClientException | sdk_exceptions.SDKException):
        detail = config.scrub(str(error).strip().rstrip(".")) or type(error).__name__
        return CLOUD_UNREACHABLE.format(detail=detail), advice_for(error)
    detail = config.scrub(f"{type(error).__name__}: {error}".rstrip(": ."))
    return UNEXPECTED_FAILURE.format(detail=detail), advice_for(error)


def fail_step(context: StepContext, error: Exception) -> None:
    message, advice = failure_text(error)
    if not isinstance(error, StepFailed | ProvisioningError):
        logger.warning(
            "Deployment %s: %s failed: %s", context.deployment.name, context.row.step, message
        )
    now = timezone.now()
    DeploymentStep.objects.filter(pk=context.row.pk, state=StepState.RUNNING).update(
        state=StepState.FAILED, message=message, finished_at=now
    )
    deployment = Deployment.objects.get(pk=context.deployment.pk)
    leftovers = deployment.cloud_resources()
    if leftovers:
        what = ", ".join(f"{item['kind'].replace('_', ' ')} {item['name'] or item['id']}"
                         for item in leftovers)  # fmt: skip
        advice = f"{advice} {LEFTOVERS_ADVICE.format(name=deployment.name, what=what)}"
    Deployment.objects.filter(pk=deployment.pk, state=DeploymentState.RUNNING).update(
        state=DeploymentState.FAILED,
        error=message,
        advice=advice,
        leftovers=leftovers,
        finished_at=now,
        heartbeat_at=now,
    )
    # The steps after the failed one will not run.
    DeploymentStep.objects.filter(
        deployment=deployment, state=StepState.PENDING, position__gt=context.row.position
    ).update(state=StepState.SKIPPED, message="not run: an earlier step failed")
