"""Celery tasks of provisioning: one per step of the pipeline, each a few lines.

A deployment's pipeline is a chain of these (``services.deployments.send_pipeline``). Each task
runs its step through ``services.steps.run_step``; waiting for the lease or the server is a retry
with a countdown, never a sleep; a failed or deprovisioned deployment cuts the chain.
"""

from __future__ import annotations

from typing import Any

from celery import shared_task

from provisioning.services import deployments, steps
from provisioning.services.pipeline import HANDLERS
from provisioning.states import Step


def _run(task: Any, deployment_id: int, step: Step) -> None:
    outcome = steps.run_step(deployment_id=deployment_id, step=step, handlers=HANDLERS)
    if outcome.retry_in is not None:
        raise task.retry(countdown=outcome.retry_in)
    if not outcome.proceed:
        task.request.chain = None  # failed, finished or deprovisioned: the rest would do nothing


def _step_task(step: Step) -> Any:
    @shared_task(
        name=f"provisioning.{step.value}",
        bind=True,
        max_retries=None,
        acks_late=True,
        ignore_result=True,
    )
    def run(self: Any, deployment_id: int) -> None:
        _run(self, deployment_id, step)

    run.__doc__ = f"Step: {step.label}."
    return run


analyse_repository = _step_task(Step.ANALYSE_REPOSITORY)
select_image = _step_task(Step.SELECT_IMAGE)
plan_lease = _step_task(Step.PLAN_LEASE)
keypair = _step_task(Step.KEYPAIR)
network = _step_task(Step.NETWORK)
create_lease = _step_task(Step.CREATE_LEASE)
wait_for_lease = _step_task(Step.WAIT_FOR_LEASE)
create_server = _step_task(Step.CREATE_SERVER)
wait_for_server = _step_task(Step.WAIT_FOR_SERVER)
floating_ip = _step_task(Step.FLOATING_IP)
verify = _step_task(Step.VERIFY)
save_state = _step_task(Step.SAVE_STATE)

STEP_TASKS: dict[Step, Any] = {
    Step.ANALYSE_REPOSITORY: analyse_repository,
    Step.SELECT_IMAGE: select_image,
    Step.PLAN_LEASE: plan_lease,
    Step.KEYPAIR: keypair,
    Step.NETWORK: network,
    Step.CREATE_LEASE: create_lease,
    Step.WAIT_FOR_LEASE: wait_for_lease,
    Step.CREATE_SERVER: create_server,
    Step.WAIT_FOR_SERVER: wait_for_server,
    Step.FLOATING_IP: floating_ip,
    Step.VERIFY: verify,
    Step.SAVE_STATE: save_state,
}


@shared_task(name="provisioning.resume_stalled")
def resume_stalled() -> list[str]:
    return deployments.resume_stalled()


@shared_task(name="provisioning.deprovision", acks_late=True)
def deprovision(name: str) -> str:
    from provisioning.services.deprovision import deprovision as remove

    return remove(name=name).summary
