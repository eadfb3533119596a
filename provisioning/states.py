"""The states a deployment and its steps move through, the steps themselves, and their groups.

A deployment is a pipeline of the seed's steps; each step is one Celery task. States are enums so
that a typo is an AttributeError, and the groups are frozensets so a guarded write can say
``state__in=DEPLOYMENT_ACTIVE`` with the same meaning everywhere. Nothing here imports Django.
"""

from __future__ import annotations

from enum import StrEnum


class _Labelled(StrEnum):
    @property
    def label(self) -> str:
        """A human-readable name for pages and the admin."""
        return self.value.replace("_", " ").capitalize()

    @classmethod
    def choices(cls) -> list[tuple[str, str]]:
        """``(value, label)`` pairs, the shape a model field's ``choices`` expects."""
        return [(member.value, member.label) for member in cls]


class DeploymentState(_Labelled):
    PENDING = "pending"
    """Created; no worker has started its first step yet."""
    RUNNING = "running"
    """A step is running or waiting for the cloud."""
    PLANNED = "planned"
    """A dry run that finished: the plan is made, nothing was created in the cloud."""
    SUCCEEDED = "succeeded"
    """The server is up; the SSH command and the info file are ready."""
    FAILED = "failed"
    """A step failed; the error says what the user can do, and what was half made."""
    DEPROVISIONING = "deprovisioning"
    """Its server, floating IP and lease are being removed."""
    DEPROVISIONED = "deprovisioned"
    """Whatever it created in the cloud is gone."""


class StepState(_Labelled):
    PENDING = "pending"
    """Not started."""
    RUNNING = "running"
    """A worker is on it."""
    WAITING = "waiting"
    """Looked at the cloud, which is not ready yet; the next look is a task retry."""
    SUCCEEDED = "succeeded"
    """Done; a resumed pipeline skips it."""
    FAILED = "failed"
    """Failed; the deployment failed with it."""
    SKIPPED = "skipped"
    """Not needed for this deployment."""


class Step(_Labelled):
    """The seed's steps, in order. The value is what the database stores and the task's name."""

    ANALYSE_REPOSITORY = "analyse_repository"
    SELECT_IMAGE = "select_image"
    PLAN_LEASE = "plan_lease"
    KEYPAIR = "keypair"
    NETWORK = "network"
    CREATE_LEASE = "create_lease"
    WAIT_FOR_LEASE = "wait_for_lease"
    CREATE_SERVER = "create_server"
    WAIT_FOR_SERVER = "wait_for_server"
    FLOATING_IP = "floating_ip"
    VERIFY = "verify"
    SAVE_STATE = "save_state"

    @property
    def label(self) -> str:
        return STEP_LABELS[self]


STEP_LABELS: dict[Step, str] = {
    Step.ANALYSE_REPOSITORY: "Analyse the repository",
    Step.SELECT_IMAGE: "Select the image",
    Step.PLAN_LEASE: "Choose node type and lease length",
    Step.KEYPAIR: "SSH key pair",
    Step.NETWORK: "Network",
    Step.CREATE_LEASE: "Reserve a node (lease)",
    Step.WAIT_FOR_LEASE: "Wait for the lease",
    Step.CREATE_SERVER: "Launch the server",
    Step.WAIT_FOR_SERVER: "Wait for the server",
    Step.FLOATING_IP: "Floating IP",
    Step.VERIFY: "Verify and connect",
    Step.SAVE_STATE: "Save the deployment's info",
}

PLAN_STEPS: tuple[Step, ...] = (Step.ANALYSE_REPOSITORY, Step.SELECT_IMAGE, Step.PLAN_LEASE)
"""The steps of a dry run: analysis and choices, no cloud resource made."""

WAIT_STEPS: frozenset[Step] = frozenset({Step.WAIT_FOR_LEASE, Step.WAIT_FOR_SERVER})
"""Steps that look at the cloud again and again until it is ready (bounded by their timeout)."""

ALL_STEPS: tuple[Step, ...] = tuple(Step)
"""The steps of a real deployment, in the order they run."""

DEPLOYMENT_ACTIVE: frozenset[DeploymentState] = frozenset(
    {DeploymentState.PENDING, DeploymentState.RUNNING}
)
"""The pipeline still has work to do."""

DEPLOYMENT_DEPROVISIONABLE: frozenset[DeploymentState] = frozenset(
    {
        DeploymentState.PENDING,
        DeploymentState.RUNNING,
        DeploymentState.SUCCEEDED,
        DeploymentState.FAILED,
        DeploymentState.PLANNED,
        DeploymentState.DEPROVISIONING,
    }
)
"""Deprovision may start (or start again, after an interrupted one) from these."""

DEPLOYMENT_FINISHED: frozenset[DeploymentState] = frozenset(
    {
        DeploymentState.PLANNED,
        DeploymentState.SUCCEEDED,
        DeploymentState.FAILED,
        DeploymentState.DEPROVISIONED,
    }
)
"""The pipeline is over (a follower stops here)."""

STEP_DONE: frozenset[StepState] = frozenset({StepState.SUCCEEDED, StepState.SKIPPED})
"""A resumed pipeline passes over steps in these states."""

STEP_CLAIMABLE: frozenset[StepState] = frozenset(
    {StepState.PENDING, StepState.RUNNING, StepState.WAITING}
)
"""A worker may (re)start a step from these: RUNNING too, because a killed worker leaves it so
and every step is idempotent."""
