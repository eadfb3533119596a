"""The central backend's side of agents: enrollment, registration, heartbeats and their config.

An API key or enrollment token is shown once, when it is made, and stored as its SHA-256 only:
a stolen database yields no usable secret. Keys are high-entropy random strings, so a plain hash
(no salt, no stretching) is enough, and it lets a request's key be found by an index lookup.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import F, Q

from autoscaler import errors
from autoscaler.errors import AutoscalerError, Forbidden, NotAuthenticated, NotFound
from autoscaler.models import AgentNode, EnrollmentToken
from autoscaler.pool_config import PoolConfigError, load_pools_yaml, pool_to_mapping
from autoscaler.states import NodeStatus

SECRET_BYTES = 32
API_KEY_PREFIX = "dyk_"
ENROLLMENT_TOKEN_PREFIX = "dye_"  # noqa: S105 - a prefix, not a secret
DEFAULT_TOKEN_LIFETIME = dt.timedelta(hours=24)
MAX_NAME_LENGTH = 200


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def config_document_hash(document: Mapping[str, Any]) -> str:
    """The hash agents report back: SHA-256 of the canonical JSON of the config document."""
    canonical = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def create_enrollment_token(
    *,
    now: dt.datetime,
    note: str = "",
    max_uses: int = 1,
    lifetime: dt.timedelta | None = DEFAULT_TOKEN_LIFETIME,
) -> tuple[EnrollmentToken, str]:
    """A new enrollment token; the clear text is returned here and never again."""
    token = ENROLLMENT_TOKEN_PREFIX + secrets.token_urlsafe(SECRET_BYTES)
    row = EnrollmentToken.objects.create(
        token_hash=hash_secret(token),
        note=note,
        max_uses=max_uses,
        expires_at=now + lifetime if lifetime is not None else None,
    )
    return row, token


def register_node(*, enrollment_token: str, name: str, now: dt.datetime) -> tuple[AgentNode, str]:
    """Spend one use of ``enrollment_token`` on a new node; returns it and its API key (once)."""
    if not isinstance(name, str) or not name.strip() or len(name) > MAX_NAME_LENGTH:
        raise AutoscalerError(errors.BAD_NODE_NAME.format(value=name), field="name")
    if not isinstance(enrollment_token, str) or not enrollment_token:
        raise NotAuthenticated(errors.ENROLLMENT_REFUSED)
    digest = hash_secret(enrollment_token)
    with transaction.atomic():
        token = EnrollmentToken.objects.filter(token_hash=digest).first()
        if token is None or not hmac.compare_digest(token.token_hash, digest):
            raise NotAuthenticated(errors.ENROLLMENT_REFUSED)
        # One guarded write spends a use, so two agents racing for the last use get one node.
        spent = (
            EnrollmentToken.objects.filter(pk=token.pk, uses__lt=F("max_uses"))
            .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))
            .update(uses=F("uses") + 1)
        )
        if not spent:
            raise NotAuthenticated(errors.ENROLLMENT_REFUSED)
        api_key = API_KEY_PREFIX + secrets.token_urlsafe(SECRET_BYTES)
        node = AgentNode.objects.create(
            name=name.strip(), api_key_hash=hash_secret(api_key), enrollment_token=token
        )
    return node, api_key


def authenticate_node(api_key: str | None) -> AgentNode:
    """The node an ``X-API-Key`` belongs to; raises :class:`NotAuthenticated`."""
    if not api_key:
        raise NotAuthenticated(errors.API_KEY_MISSING)
    digest = hash_secret(api_key)
    node = AgentNode.objects.filter(api_key_hash=digest).first()
    if node is None or not hmac.compare_digest(node.api_key_hash, digest):
        raise NotAuthenticated(errors.API_KEY_REFUSED)
    return node


def get_node(node_id: int | str) -> AgentNode:
    node = AgentNode.objects.filter(pk=node_id).first() if str(node_id).isdigit() else None
    if node is None:
        raise NotFound(errors.UNKNOWN_NODE.format(node=node_id))
    return node


def require_same_node(node: AgentNode, node_id: int | str) -> None:
    if str(node.pk) != str(node_id):
        raise Forbidden(errors.NODE_MISMATCH.format(key_node=node.pk, node=node_id))


@dataclass(frozen=True)
class HeartbeatAnswer:
    node_id: int
    config_update_needed: bool
    config_hash: str


def record_heartbeat(
    node: AgentNode,
    *,
    status: Any,
    config_hash: Any,
    pool_analytics: Any,
    now: dt.datetime,
) -> HeartbeatAnswer:
    """Store what the agent reported and tell it whether its config is behind ours."""
    known = [member.value for member in NodeStatus]
    if status not in known:
        raise AutoscalerError(
            errors.BAD_STATUS.format(known=", ".join(known), value=status), field="status"
        )
    if config_hash is None:
        config_hash = ""
    if not isinstance(config_hash, str):
        raise AutoscalerError(errors.BAD_CONFIG_HASH.format(value=config_hash), field="config_hash")
    if pool_analytics is None:
        pool_analytics = {}
    if not isinstance(pool_analytics, dict | list):
        raise AutoscalerError(
            errors.BAD_ANALYTICS.format(kind=type(pool_analytics).__name__),
            field="pool_analytics",
        )
    AgentNode.objects.filter(pk=node.pk).update(
        status=status,
        reported_config_hash=config_hash,
        last_heartbeat_at=now,
        last_analytics=pool_analytics,
    )
    central = AgentNode.objects.values_list("config_hash", flat=True).get(pk=node.pk)
    return HeartbeatAnswer(
        node_id=node.pk,
        config_update_needed=bool(central) and central != config_hash,
        config_hash=central,
    )


def set_node_config(
    node: AgentNode,
    *,
    config: Any = None,
    yaml_config: Any = None,
    now: dt.datetime,
) -> AgentNode:
    """Validate and store a node's central config (a ``{"pools": [...]}`` document or its YAML).

    The stored document is the validated one written back in ``config.yaml`` form, so two
    spellings of the same pools have one hash. A refused config changes nothing.
    """
    if isinstance(yaml_config, str) and config is None:
        text = yaml_config
    elif isinstance(config, dict) and yaml_config is None:
        text = json.dumps(config)  # JSON is YAML: one loader validates both
    else:
        raise AutoscalerError(errors.BAD_CONFIG_BODY)
    try:
        pools = load_pools_yaml(text)
    except PoolConfigError as error:
        field = "yaml_config" if config is None else "config"
        raise AutoscalerError(str(error), field=field) from error
    document = {"pools": [pool_to_mapping(pool) for pool in pools]}
    AgentNode.objects.filter(pk=node.pk).update(
        config=document, config_hash=config_document_hash(document), config_updated_at=now
    )
    node.refresh_from_db()
    return node


def node_config_body(node: AgentNode) -> dict[str, Any]:
    return {"node_id": node.pk, "config": node.config, "config_hash": node.config_hash}
