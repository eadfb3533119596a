"""The one error type the autoscaler's services raise, and the exact words of each refusal.

Pool configuration refusals keep their own type (:class:`~autoscaler.pool_config.PoolConfigError`)
because the file loader, the model and the API share its messages.
"""

from __future__ import annotations

UNKNOWN_POOL = "no pool is named {name!r}"
UNKNOWN_POOL_ID = "no pool has the id {pool}"
POOL_NAME_TAKEN = "another pool is already named {name!r}"
UNKNOWN_NODE = "no node has the id {node!r}"
ENROLLMENT_REFUSED = "the enrollment token is unknown, used up or expired"
API_KEY_MISSING = "send the node's API key in the X-API-Key header"
API_KEY_REFUSED = "the API key is not valid"
NODE_MISMATCH = "this API key belongs to node {key_node}, not node {node}"
BAD_STATUS = "status must be one of {known}, got {value!r}"
BAD_NODE_NAME = "name must be a non-empty string of at most 200 characters, got {value!r}"
BAD_CONFIG_HASH = "config_hash must be a string, got {value!r}"
BAD_ANALYTICS = "pool_analytics must be a JSON object or list, got {kind}"
BAD_CONFIG_BODY = "send the configuration as 'config' (a JSON object) or 'yaml_config' (text)"
BAD_JSON = "the request body must be a JSON object"
ADMINS_ONLY = "only admins may change a node's configuration"
LOGIN_REQUIRED = "log in as an admin to change a node's configuration"
VIEWERS_ONLY = "your role does not allow reading a node's configuration"
METRICS_TOKEN_REQUIRED = "send the metrics token as 'Authorization: Bearer <token>'"  # noqa: S105


class AutoscalerError(Exception):
    """A refused autoscaler request; the message names what was wrong, and ``field`` the request
    field at fault when there is one (an API answer files its 400 under it)."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class NotFound(AutoscalerError):
    """The pool or node asked for does not exist."""


class NotAuthenticated(AutoscalerError):
    """The caller did not say who it is, or said it wrongly (no key, a wrong key, no login)."""


class Forbidden(AutoscalerError):
    """The caller is known but may not do this (another node's config, a non-staff change)."""
