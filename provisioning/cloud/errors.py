"""The cloud failures a deployment can meet, each with what its user can do about it.

They follow the seed's error table. The message templates are constants so that pages, the CLI
and tests show and check the very same words. A message never carries a secret: only names, ids
and the cloud's own explanation.
"""

from __future__ import annotations

NO_RESOURCES_MESSAGE = (
    "No {node_type} nodes are free from {start} to {end} UTC ({detail}). "
    "Try a different node type, a shorter lease or a later time."
)
LEASE_FAILED_MESSAGE = (
    "The lease {lease} could not be {action} ({detail}). "
    "Retry in a few minutes, and check the cloud's status page if it keeps failing."
)
LEASE_TIMEOUT_MESSAGE = (
    "The lease {lease} was still {status} after {minutes} minutes. "
    "It will be deleted; retry later and check the cloud's status page."
)
SERVER_FAILED_MESSAGE = (
    "The server {server} failed to start: {fault}. "
    "Check your project's quota, or retry with a different node type or image."
)
SERVER_TIMEOUT_MESSAGE = (
    "The server {server} was still {status} after {minutes} minutes. "
    "Check its console log in the cloud's dashboard, or contact the cloud's support."
)
NETWORK_NOT_FOUND_MESSAGE = (
    "There is no network named {name!r} in this project. "
    "Check the network name (the default is sharednet1) or pick one your project can use."
)
FLAVOR_NOT_FOUND_MESSAGE = (
    "There is no flavor named {name!r} in this cloud. Check the flavor name (bare metal sites "
    "use 'baremetal')."
)
KEYPAIR_FAILED_MESSAGE = "The SSH key pair {name!r} could not be set up: {detail}. {action}"


class CloudError(Exception):
    """A cloud step failed; ``str(error)`` is the whole message for the user."""


def _clause(text: str) -> str:
    """The cloud's sentence as a clause of ours: its closing full stop would double ours."""
    return text.strip().rstrip(".") or "no reason given"


class NoResourcesAvailable(CloudError):
    """Blazar has no node of the requested type for the requested window."""

    def __init__(self, *, node_type: str, start: str, end: str, detail: str) -> None:
        super().__init__(
            NO_RESOURCES_MESSAGE.format(
                node_type=node_type, start=start, end=end, detail=_clause(detail)
            )
        )
        self.node_type = node_type


class LeaseFailed(CloudError):
    """The lease was refused or went to ERROR."""

    def __init__(self, *, lease: str, detail: str, action: str = "activated") -> None:
        super().__init__(
            LEASE_FAILED_MESSAGE.format(lease=lease, action=action, detail=_clause(detail))
        )
        self.lease = lease


class LeaseTimeout(CloudError):
    """The lease did not become ACTIVE in time."""

    def __init__(self, *, lease: str, status: str, minutes: float) -> None:
        super().__init__(LEASE_TIMEOUT_MESSAGE.format(lease=lease, status=status, minutes=minutes))
        self.lease = lease


class ServerFailed(CloudError):
    """The server went to ERROR (or was refused); ``fault`` is the cloud's explanation."""

    def __init__(self, *, server: str, fault: str) -> None:
        super().__init__(SERVER_FAILED_MESSAGE.format(server=server, fault=_clause(fault)))
        self.server = server
        self.fault = fault


class ServerTimeout(CloudError):
    """The server did not become ACTIVE in time."""

    def __init__(self, *, server: str, status: str, minutes: float) -> None:
        super().__init__(
            SERVER_TIMEOUT_MESSAGE.format(server=server, status=status, minutes=minutes)
        )
        self.server = server


class NetworkNotFound(CloudError):
    def __init__(self, *, name: str) -> None:
        super().__init__(NETWORK_NOT_FOUND_MESSAGE.format(name=name))


class FlavorNotFound(CloudError):
    def __init__(self, *, name: str) -> None:
        super().__init__(FLAVOR_NOT_FOUND_MESSAGE.format(name=name))


class KeypairFailed(CloudError):
    def __init__(self, *, name: str, detail: str, action: str) -> None:
        super().__init__(
            KEYPAIR_FAILED_MESSAGE.format(name=name, detail=_clause(detail), action=action)
        )
