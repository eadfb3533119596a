"""Refusals and failures of provisioning, with the words users see.

``DeploymentRefused`` is bad input: nothing was created. A step's failure is recorded on the
deployment with an error (what happened) and advice (what the user can do, from the seed's
error table); the message templates are constants so tests assert the very text users read.
"""

from __future__ import annotations

from provisioning.ai.fallbacks import NoImageAvailable
from provisioning.cloud.errors import (
    CloudError,
    FlavorNotFound,
    KeypairFailed,
    LeaseFailed,
    LeaseTimeout,
    NetworkNotFound,
    NoResourcesAvailable,
    ServerFailed,
    ServerTimeout,
)
from provisioning.repo_analysis import RepositoryCloneFailed

BAD_NAME = (
    "The deployment name {name!r} is not allowed: use 1-50 lowercase letters, digits and dashes, "
    "starting with a letter or digit."
)
NAME_TAKEN = "There is already a deployment named {name!r}; choose another name."
BAD_REPO_URL = (
    "The repository URL {url!r} is not one Dagyard can clone: use an http(s)://, ssh://, git://, "
    "file:// or user@host:path address."
)
BAD_DURATION = "The lease duration must be a whole number of hours from 1 to 168, not {value!r}."
BAD_NODE_TYPE = (
    "The node type {value!r} is not a node type name (letters, digits, dashes and underscores)."
)
NOT_FOUND = "There is no deployment named {name!r}."
DRY_RUN_NEEDS_NO_CLOUD = "no cloud credentials are configured, so this is a dry run"
NO_CLOUD_CONFIGURED = (
    "No cloud credentials are configured (OS_CLOUD, or OS_AUTH_URL with a password or an "
    "application credential): only dry runs are possible."
)
NO_RESOURCES_AFTER_LADDER = (
    "No node was free for any of the {count} lease requests tried ({tried}). {last}"
)
CLOUD_UNREACHABLE = "The cloud could not be reached or refused the request: {detail}."
UNEXPECTED_FAILURE = "The step failed unexpectedly: {detail}."
DEPLOYMENT_STOPPED = "Stopped: the deployment is being deprovisioned."

ADVICE_BY_FAILURE: tuple[tuple[type[Exception], str], ...] = (
    (RepositoryCloneFailed, "Check the URL, or try a different repository."),
    (NoImageAvailable, "Check the cloud region and that the project can see public images."),
    (NoResourcesAvailable, "Try a different node type, a different time, or a shorter lease."),
    (LeaseTimeout, "Retry later, and check the cloud's status page."),
    (LeaseFailed, "Retry in a few minutes, and check the cloud's status page."),
    (ServerFailed, "Check the project's quota, or retry with different resources."),
    (ServerTimeout, "Check the server's console log, or contact the cloud's support."),
    (NetworkNotFound, "Set DAGYARD_OS_NETWORK to a network the project can use."),
    (FlavorNotFound, "Set DAGYARD_OS_FLAVOR to a flavor of this cloud (bare metal: baremetal)."),
    (
        KeypairFailed,
        "Set DAGYARD_OS_PUBLIC_KEY to a public key to import, or DAGYARD_OS_PRIVATE_KEY to a "
        "new file.",
    ),
    (CloudError, "Check the cloud's status page, then retry."),
)
DEFAULT_ADVICE = "Check the cloud credentials and the worker's log, then retry."
LEFTOVERS_ADVICE = "Run `dagyard deprovision {name}` to remove what was made: {what}."


class ProvisioningError(Exception):
    """A refusal; ``str(error)`` is the whole message for the user."""


class DeploymentRefused(ProvisioningError):
    """Bad input to create a deployment: nothing was created. ``field`` names the request field
    at fault (``repo_url``, ``name``, ``node_type``, ``duration_hours``)."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class DeploymentNotFound(ProvisioningError):
    pass


class NoResourcesAfterLadder(NoResourcesAvailable):
    """Every rung of the fallback ladder was refused for lack of free nodes."""

    def __init__(self, *, tried: list[str], last: NoResourcesAvailable) -> None:
        CloudError.__init__(
            self,
            NO_RESOURCES_AFTER_LADDER.format(count=len(tried), tried="; ".join(tried), last=last),
        )
        self.node_type = last.node_type


def advice_for(error: Exception) -> str:
    for kind, advice in ADVICE_BY_FAILURE:
        if isinstance(error, kind):
            return advice
    return DEFAULT_ADVICE
