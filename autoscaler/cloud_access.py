"""How Dagyard reaches a pool: the one place that picks its provider and its metrics collector.

Both are chosen from the pool's own fields (``provider``, ``monitoring_method``). Cloud
credentials come from the environment only, never from the database:

- OCI: ``OCI_USER``, ``OCI_TENANCY``, ``OCI_FINGERPRINT``, ``OCI_KEY_FILE`` and ``OCI_REGION`` when
  all are set; otherwise the OCI config file at ``DAGYARD_OCI_CONFIG_FILE`` (default
  ``~/.oci/config``), profile ``DAGYARD_OCI_PROFILE`` (default ``DEFAULT``).
  ``DAGYARD_OCI_ENDPOINT`` points both OCI clients at one endpoint (a private gateway, a test).
- Prometheus: a pool's ``prometheus_url``, or ``DAGYARD_PROMETHEUS_URL``.
- Retries: ``DAGYARD_PROVIDER_RETRY_DELAY_SECONDS`` is the first backoff delay (default 1 s).
"""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from django.conf import settings

from autoscaler.collectors.base import Collector, collector_for
from autoscaler.pool_config import PoolConfig
from autoscaler.providers.base import InvalidCredentials, Provider, RetryPolicy

if TYPE_CHECKING:
    from autoscaler.collectors.oci import OciMetricsCollector
    from autoscaler.providers.local import LocalWorkerPool
    from autoscaler.providers.oci import OciInstancePools

OCI_ENV_KEYS = {
    "user": "OCI_USER",
    "tenancy": "OCI_TENANCY",
    "fingerprint": "OCI_FINGERPRINT",
    "key_file": "OCI_KEY_FILE",
    "region": "OCI_REGION",
}
DEFAULT_OCI_CONFIG_FILE = "~/.oci/config"

ERR_NO_OCI_CREDENTIALS = (
    "OCI credentials are not configured: set OCI_USER, OCI_TENANCY, OCI_FINGERPRINT, "
    "OCI_KEY_FILE and OCI_REGION, or DAGYARD_OCI_CONFIG_FILE (now {path})"
)
ERR_OCI_CONFIG_FILE = "OCI config file {path} (profile {profile}) cannot be used: {error}"


def oci_config() -> dict[str, Any]:
    """The OCI SDK configuration from the environment; raises :class:`InvalidCredentials`."""
    from_env = {key: os.environ.get(name, "") for key, name in OCI_ENV_KEYS.items()}
    if all(from_env.values()):
        return from_env
    path = os.path.expanduser(os.environ.get("DAGYARD_OCI_CONFIG_FILE", DEFAULT_OCI_CONFIG_FILE))
    profile = os.environ.get("DAGYARD_OCI_PROFILE", "DEFAULT")
    if not Path(path).is_file():
        raise InvalidCredentials(ERR_NO_OCI_CREDENTIALS.format(path=path))
    import oci

    try:
        return dict(oci.config.from_file(file_location=path, profile_name=profile))
    except (oci.exceptions.ConfigFileNotFound, oci.exceptions.ProfileNotFound) as error:
        raise InvalidCredentials(
            ERR_OCI_CONFIG_FILE.format(path=path, profile=profile, error=error)
        ) from error
    except oci.exceptions.InvalidConfig as error:
        raise InvalidCredentials(
            ERR_OCI_CONFIG_FILE.format(path=path, profile=profile, error=error)
        ) from error


def retry_policy() -> RetryPolicy:
    delay = float(os.environ.get("DAGYARD_PROVIDER_RETRY_DELAY_SECONDS", "1.0"))
    return RetryPolicy(base_delay_seconds=delay)


def local_worker_pool() -> LocalWorkerPool:
    """The local provider, tracking its workers under the data directory."""
    from autoscaler.providers.local import LocalWorkerPool

    return LocalWorkerPool(
        state_dir=Path(settings.DATA_DIR) / "local-workers",
        cwd=Path(settings.BASE_DIR),
        concurrency=int(os.environ.get("DAGYARD_LOCAL_WORKER_CONCURRENCY", "1")),
    )


def provider_for(pool: PoolConfig, *, one_evaluation: bool = False) -> Provider:
    """The provider that reads and sets ``pool``'s size.

    With ``one_evaluation`` it is a view for a single evaluation that asks the cloud for the
    pool's record once, however many questions the evaluation asks (OCI: its compartment to list
    the instances, then its size). Never keep such a view past its evaluation.
    """
    if pool.provider == "local":
        provider: Provider = local_worker_pool()
        return provider
    config = oci_config()
    pools = _oci_pools(_frozen(config), os.environ.get("DAGYARD_OCI_ENDPOINT"), retry_policy())
    return pools.for_one_evaluation() if one_evaluation else pools


def collector_for_pool(pool: PoolConfig, provider: Provider) -> Collector:
    """The collector for ``pool``'s monitoring method, wired to the pool's provider."""
    if pool.monitoring_method == "oci":
        from autoscaler.providers.oci import OciInstancePools

        collector = _oci_collector(
            _frozen(oci_config()), os.environ.get("DAGYARD_OCI_ENDPOINT"), retry_policy()
        )
        # Listing instances through the caller's provider shares its reading of the pool.
        if isinstance(provider, OciInstancePools):
            return collector.with_pools(provider)
        return collector
    if pool.monitoring_method == "prometheus":
        return collector_for(
            "prometheus",
            url=os.environ.get("DAGYARD_PROMETHEUS_URL"),
            instances=provider.list_instances,
        )
    return collector_for(pool.monitoring_method)


def _frozen(config: Mapping[str, Any]) -> tuple[tuple[str, Any], ...]:
    plain = (str, int, float, bool, type(None))
    return tuple(
        sorted(
            (key, value if isinstance(value, plain) else str(value))
            for key, value in config.items()
        )
    )


# Clients are reused across evaluations: building one loads and parses the signing key.
@functools.lru_cache(maxsize=8)
def _oci_pools(
    config: tuple[tuple[str, Any], ...], endpoint: str | None, retry: RetryPolicy
) -> OciInstancePools:
    from autoscaler.providers.oci import OciInstancePools

    return OciInstancePools(dict(config), service_endpoint=endpoint, retry=retry)


@functools.lru_cache(maxsize=8)
def _oci_collector(
    config: tuple[tuple[str, Any], ...], endpoint: str | None, retry: RetryPolicy
) -> OciMetricsCollector:
    from autoscaler.collectors.oci import OciMetricsCollector

    collector = collector_for(
        "oci",
        config=dict(config),
        monitoring_endpoint=endpoint,
        compute_endpoint=endpoint,
        pools=_oci_pools(config, endpoint, retry),
        retry=retry,
    )
    assert isinstance(collector, OciMetricsCollector)  # noqa: S101 - the "oci" method's class
    return collector
