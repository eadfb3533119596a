"""Everything provisioning reads from the environment, read at call time.

Read when a step runs, not at import, so a worker picks up what its environment says and tests
can point a worker at stand-ins. Secrets (the cloud password or application credential secret,
the API key) go from here straight into the SDK clients: nothing here logs them, and their
``repr`` hides them.

Variables:

- ``OPENAI_BASE_URL``, ``OPENAI_API_KEY``, ``DAGYARD_AI_MODEL`` (default ``gpt-4o-mini``),
  ``DAGYARD_AI_TIMEOUT_SECONDS`` (30), ``DAGYARD_AI_MAX_RETRIES`` (1).
- ``OS_CLOUD`` (a ``clouds.yaml`` cloud) or ``OS_AUTH_URL`` with ``OS_USERNAME``/``OS_PASSWORD``/
  ``OS_PROJECT_NAME`` (or ``OS_PROJECT_ID``), ``OS_USER_DOMAIN_NAME``/``OS_PROJECT_DOMAIN_NAME``
  (default ``Default``), or ``OS_APPLICATION_CREDENTIAL_ID``/``OS_APPLICATION_CREDENTIAL_SECRET``;
  ``OS_REGION_NAME``.
- ``DAGYARD_OS_NETWORK`` (``sharednet1``), ``DAGYARD_OS_FLOATING_IP_POOL`` (``public``),
  ``DAGYARD_OS_FLAVOR`` (``baremetal``), ``DAGYARD_OS_KEYPAIR`` (``dagyard``),
  ``DAGYARD_OS_PUBLIC_KEY`` (a public key file to import), ``DAGYARD_OS_PRIVATE_KEY`` (where a new
  key's private half is saved; default ``$DAGYARD_DATA_DIR/keys/<keypair>``).
- ``DAGYARD_SSH_USER``: the login user in the SSH command (default by image: ``ubuntu`` for
  CC-Ubuntu, ``centos`` for CC-CentOS).
- ``DAGYARD_DEPLOYMENTS_DIR``: where ``{server_name}_info.json`` goes
  (default ``$DAGYARD_DATA_DIR/deployments``).
- ``DAGYARD_LEASE_POLL_SECONDS`` (10), ``DAGYARD_LEASE_TIMEOUT_SECONDS`` (300),
  ``DAGYARD_SERVER_POLL_SECONDS`` (30), ``DAGYARD_SERVER_TIMEOUT_SECONDS`` (1800),
  ``DAGYARD_PROVISIONING_STALL_SECONDS`` (600): a running deployment with no sign of a worker for
  this long is resumed from its last finished step.
- ``DAGYARD_CLOUD_TRIES`` (3), ``DAGYARD_CLOUD_RETRY_SECONDS`` (15): a step whose cloud call
  meets an outage (unreachable, HTTP 5xx) is tried again after the delay, this many times in all.
- ``DAGYARD_PROVISIONING_QUEUE`` (``provisioning``): the queue the pipeline's tasks go to, for a
  worker that holds the cloud credentials.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings

DEFAULT_AI_MODEL = "gpt-4o-mini"
DEFAULT_QUEUE = "provisioning"
SSH_USERS_BY_IMAGE = (("CC-Ubuntu", "ubuntu"), ("CC-CentOS", "centos"))
DEFAULT_SSH_USER = "ubuntu"

BAD_NUMBER = "{name} must be a number, not {value!r}"


class ProvisioningConfigError(ValueError):
    """A provisioning variable is malformed; the message names it."""


def _number(name: str, default: float) -> float:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ProvisioningConfigError(BAD_NUMBER.format(name=name, value=raw)) from None
    if value < 0:
        raise ProvisioningConfigError(BAD_NUMBER.format(name=name, value=raw))
    return value


def _text(name: str, default: str) -> str:
    return os.environ.get(name, "").strip() or default


# --- timing ------------------------------------------------------------------------------------


def lease_poll_seconds() -> float:
    return _number("DAGYARD_LEASE_POLL_SECONDS", 10)


def lease_timeout() -> dt.timedelta:
    return dt.timedelta(seconds=_number("DAGYARD_LEASE_TIMEOUT_SECONDS", 300))


def server_poll_seconds() -> float:
    return _number("DAGYARD_SERVER_POLL_SECONDS", 30)


def server_timeout() -> dt.timedelta:
    return dt.timedelta(seconds=_number("DAGYARD_SERVER_TIMEOUT_SECONDS", 1800))


def cloud_retry_seconds() -> float:
    return _number("DAGYARD_CLOUD_RETRY_SECONDS", 15)


def cloud_tries() -> int:
    return max(1, int(_number("DAGYARD_CLOUD_TRIES", 3)))


def stall_after() -> dt.timedelta:
    return dt.timedelta(seconds=_number("DAGYARD_PROVISIONING_STALL_SECONDS", 600))


def queue() -> str:
    return _text("DAGYARD_PROVISIONING_QUEUE", DEFAULT_QUEUE)


# --- cloud -------------------------------------------------------------------------------------


def network_name() -> str:
    return _text("DAGYARD_OS_NETWORK", "sharednet1")


def floating_ip_pool() -> str:
    return _text("DAGYARD_OS_FLOATING_IP_POOL", "public")


def flavor() -> str:
    return _text("DAGYARD_OS_FLAVOR", "baremetal")


def keypair_name() -> str:
    return _text("DAGYARD_OS_KEYPAIR", "dagyard")


def public_key_path() -> Path | None:
    raw = os.environ.get("DAGYARD_OS_PUBLIC_KEY", "").strip()
    return Path(raw).expanduser() if raw else None


def private_key_path(keypair: str) -> Path:
    raw = os.environ.get("DAGYARD_OS_PRIVATE_KEY", "").strip()
    if raw:
        return Path(raw).expanduser()
    return Path(settings.DATA_DIR) / "keys" / keypair


def deployments_dir() -> Path:
    raw = os.environ.get("DAGYARD_DEPLOYMENTS_DIR", "").strip()
    return Path(raw).expanduser() if raw else Path(settings.DATA_DIR) / "deployments"


def ssh_user(image_name: str) -> str:
    configured = os.environ.get("DAGYARD_SSH_USER", "").strip()
    if configured:
        return configured
    for prefix, user in SSH_USERS_BY_IMAGE:
        if image_name.startswith(prefix):
            return user
    return DEFAULT_SSH_USER


@dataclass(frozen=True)
class CloudAccess:
    """How to reach the cloud. ``options`` may hold a secret: it is never shown (see repr)."""

    description: str
    options: dict[str, Any] = field(repr=False)
    cloud_name: str | None = None


def cloud_access() -> CloudAccess | None:
    """The configured cloud, or None when there are no credentials (deployments are dry runs)."""
    cloud_name = os.environ.get("OS_CLOUD", "").strip()
    if cloud_name:
        return CloudAccess(f"clouds.yaml cloud {cloud_name!r}", {}, cloud_name=cloud_name)
    auth_url = os.environ.get("OS_AUTH_URL", "").strip()
    if not auth_url:
        return None
    options: dict[str, Any] = {"auth_url": auth_url}
    region = os.environ.get("OS_REGION_NAME", "").strip()
    if region:
        options["region_name"] = region
    credential_id = os.environ.get("OS_APPLICATION_CREDENTIAL_ID", "").strip()
    credential_secret = os.environ.get("OS_APPLICATION_CREDENTIAL_SECRET", "")
    if credential_id and credential_secret:
        options.update(
            auth_type="v3applicationcredential",
            application_credential_id=credential_id,
            application_credential_secret=credential_secret,
        )
        return CloudAccess(f"application credential at {auth_url}", options)
    username = os.environ.get("OS_USERNAME", "").strip()
    password = os.environ.get("OS_PASSWORD", "")
    if not (username and password):
        return None
    options.update(
        auth_type="v3password",
        username=username,
        password=password,
        user_domain_name=_text("OS_USER_DOMAIN_NAME", "Default"),
        project_domain_name=_text("OS_PROJECT_DOMAIN_NAME", "Default"),
    )
    for key, name in (("project_name", "OS_PROJECT_NAME"), ("project_id", "OS_PROJECT_ID")):
        value = os.environ.get(name, "").strip()
        if value:
            options[key] = value
    return CloudAccess(f"user {username!r} at {auth_url}", options)


def cloud_secrets() -> list[str]:
    """The secret values in the environment, so text about to be stored can be scrubbed."""
    names = ("OS_PASSWORD", "OS_APPLICATION_CREDENTIAL_SECRET", "OPENAI_API_KEY")
    return [value for name in names if len(value := os.environ.get(name, "")) >= 4]


def scrub(text: str) -> str:
    for secret in cloud_secrets():
        text = text.replace(secret, "***")
    return text


def connect(access: CloudAccess) -> Any:
    """An openstacksdk connection. ``load_yaml_config``/``load_envvars`` are not passed: the SDK
    refuses them next to auth options, and without a cloud name it reads neither anyway."""
    import openstack
    import openstack.connection

    if access.cloud_name:
        return openstack.connect(cloud=access.cloud_name)
    return openstack.connection.Connection(**access.options)


# --- AI ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AiAccess:
    base_url: str | None
    api_key: str | None = field(repr=False)
    model: str
    timeout: float
    max_retries: int


def ai_access() -> AiAccess:
    return AiAccess(
        base_url=os.environ.get("OPENAI_BASE_URL", "").strip() or None,
        api_key=os.environ.get("OPENAI_API_KEY", "").strip() or None,
        model=_text("DAGYARD_AI_MODEL", DEFAULT_AI_MODEL),
        timeout=_number("DAGYARD_AI_TIMEOUT_SECONDS", 30),
        max_retries=int(_number("DAGYARD_AI_MAX_RETRIES", 1)),
    )


def advisor() -> Any:
    from provisioning.ai.advisor import Advisor

    access = ai_access()
    return Advisor(
        base_url=access.base_url,
        api_key=access.api_key,
        model=access.model,
        timeout=access.timeout,
        max_retries=access.max_retries,
    )
