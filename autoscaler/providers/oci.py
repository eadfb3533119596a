"""OCI instance pools through the ``oci`` SDK's ComputeManagementClient.

Clients are built from an explicit configuration mapping (never ``~/.oci/config`` behind the
caller's back), with the SDK's own retries and circuit breaker switched off: retries are ours
(:func:`call_with_retries`, the original 429/500/503 rule with exponential backoff), and a circuit
breaker shared by every client would let one failing pool stop the evaluation of all the others.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import oci

from autoscaler.pool_config import PoolConfig
from autoscaler.providers.base import (
    Instance,
    InvalidCredentials,
    InvalidPool,
    ProviderError,
    ProviderUnavailable,
    RetryPolicy,
    call_with_retries,
    check_size,
)

T = TypeVar("T")

RETRYABLE_STATUSES = frozenset({429, 500, 503})
# What the SDK raises when no HTTP answer came back at all (refused connection, timeout).
NO_ANSWER_ERRORS = (oci.exceptions.RequestException, oci.exceptions.ConnectTimeout)
DEFAULT_TIMEOUT = (10.0, 60.0)  # connect, read (seconds)

ERR_BAD_CONFIG = "OCI configuration is incomplete or invalid: {error}"
ERR_CREDENTIALS = (
    "OCI refused the credentials (401 {code}) for {operation} on pool {pool}: check the user, "
    "tenancy, fingerprint and key in the OCI configuration"
)
ERR_NOT_FOUND = (
    "OCI does not know instance pool {pool_id} in region {region} (404 {code} from "
    "{operation}): check instance_pool_id and region"
)
ERR_UNAVAILABLE = (
    "OCI kept failing {operation} on pool {pool} ({status}) after {attempts} attempts; "
    "giving up until the next evaluation"
)
ERR_REFUSED = "OCI refused {operation} on pool {pool} ({status} {code}): {message}"


def sdk_client_options(
    *,
    service_endpoint: str | None,
    timeout: tuple[float, float] = DEFAULT_TIMEOUT,
) -> dict[str, Any]:
    """Keyword arguments every Dagyard OCI client is built with."""
    options: dict[str, Any] = {
        "retry_strategy": oci.retry.NoneRetryStrategy(),
        "circuit_breaker_strategy": oci.circuit_breaker.NoCircuitBreakerStrategy(),
        "timeout": timeout,
    }
    if service_endpoint:
        options["service_endpoint"] = service_endpoint
    return options


def validated_config(config: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of ``config`` checked by the SDK, so a missing key fails at start-up, clearly."""
    copied = dict(config)
    try:
        oci.config.validate_config(copied)
    except oci.exceptions.InvalidConfig as error:
        raise InvalidCredentials(ERR_BAD_CONFIG.format(error=error)) from error
    return copied


def region_config(config: Mapping[str, Any], pool: PoolConfig) -> dict[str, Any]:
    """The configuration for the pool's own region (one agent may scale pools in several)."""
    return {**config, "region": pool.region or config.get("region", "")}


def call_oci(
    call: Callable[[], T],
    *,
    pool: PoolConfig,
    operation: str,
    policy: RetryPolicy,
    sleep: Callable[[float], None],
) -> T:
    """Make one OCI call with retries, translating its failures into the provider's errors."""
    try:
        return call_with_retries(
            call,
            is_retryable=_is_retryable,
            policy=policy,
            sleep=sleep,
            describe=f"OCI {operation} for pool {pool.label}",
        )
    except oci.exceptions.ServiceError as error:
        raise _translated(error, pool=pool, operation=operation, policy=policy) from error
    except NO_ANSWER_ERRORS as error:
        raise ProviderUnavailable(
            ERR_UNAVAILABLE.format(
                operation=operation,
                pool=pool.label,
                status=type(error).__name__,
                attempts=policy.attempts,
            )
        ) from error


class OciInstancePools:
    """The :class:`~autoscaler.providers.base.Provider` for OCI instance pools."""

    def __init__(
        self,
        config: Mapping[str, Any],
        *,
        service_endpoint: str | None = None,
        retry: RetryPolicy = RetryPolicy(),  # noqa: B008 - frozen, so sharing the default is safe
        sleep: Callable[[float], None] = time.sleep,
        timeout: tuple[float, float] = DEFAULT_TIMEOUT,
    ) -> None:
        self._config = validated_config(config)
        self._service_endpoint = service_endpoint
        self._retry = retry
        self._sleep = sleep
        self._timeout = timeout
        self._clients: dict[str, oci.core.ComputeManagementClient] = {}
        # None: every question about a pool is asked of OCI (this object is shared and
        # long-lived, so a remembered size would go stale). See for_one_evaluation().
        self._readings: dict[tuple[str, str], Any] | None = None

    def for_one_evaluation(self) -> OciInstancePools:
        """A view of these pools for one evaluation, which reads each instance pool once.

        An evaluation asks for a pool's compartment (to list its instances) and for its size;
        both come from the same ``get_instance_pool`` answer, so the view keeps that answer until
        it resizes the pool. It shares the clients (building one loads the signing key) and
        belongs to one evaluation in one thread: never keep it for the next round.
        """
        view = copy.copy(self)
        view._readings = {}
        return view

    def current_size(self, pool: PoolConfig) -> int:
        return int(self._get_pool(pool).size)

    def compartment_id(self, pool: PoolConfig) -> str:
        return str(self._get_pool(pool).compartment_id)

    def set_size(self, pool: PoolConfig, size: int) -> None:
        """Ask OCI for ``size`` instances; setting the same size twice is harmless."""
        check_size(pool, size)
        client = self._client(pool)
        details = oci.core.models.UpdateInstancePoolDetails(size=size)
        if self._readings is not None:
            # Whatever OCI answers, the size read before this call is no longer the size.
            self._readings.pop(self._reading_key(pool), None)
        self._call(
            pool,
            "update_instance_pool",
            lambda: client.update_instance_pool(pool.instance_pool_id, details),
        )

    def list_instances(self, pool: PoolConfig) -> list[Instance]:
        client = self._client(pool)
        compartment = self.compartment_id(pool)
        response = self._call(
            pool,
            "list_instance_pool_instances",
            lambda: oci.pagination.list_call_get_all_results(
                client.list_instance_pool_instances, compartment, pool.instance_pool_id
            ),
        )
        return [
            Instance(
                id=summary.id,
                state=summary.state or "",
                display_name=summary.display_name or "",
                compartment_id=summary.compartment_id or compartment,
            )
            for summary in response.data
        ]

    def _get_pool(self, pool: PoolConfig) -> Any:
        key = self._reading_key(pool)
        if self._readings is not None and key in self._readings:
            return self._readings[key]
        client = self._client(pool)
        response = self._call(
            pool, "get_instance_pool", lambda: client.get_instance_pool(pool.instance_pool_id)
        )
        if self._readings is not None:
            self._readings[key] = response.data
        return response.data

    def _reading_key(self, pool: PoolConfig) -> tuple[str, str]:
        return region_config(self._config, pool)["region"], pool.instance_pool_id

    def _call(self, pool: PoolConfig, operation: str, call: Callable[[], T]) -> T:
        return call_oci(call, pool=pool, operation=operation, policy=self._retry, sleep=self._sleep)

    def _client(self, pool: PoolConfig) -> oci.core.ComputeManagementClient:
        config = region_config(self._config, pool)
        key = config["region"]
        if key not in self._clients:
            options = sdk_client_options(
                service_endpoint=self._service_endpoint, timeout=self._timeout
            )
            self._clients[key] = oci.core.ComputeManagementClient(config, **options)
        return self._clients[key]


def _is_retryable(error: Exception) -> bool:
    if isinstance(error, oci.exceptions.ServiceError):
        return error.status in RETRYABLE_STATUSES
    return isinstance(error, NO_ANSWER_ERRORS)


def _translated(
    error: oci.exceptions.ServiceError, *, pool: PoolConfig, operation: str, policy: RetryPolicy
) -> ProviderError:
    if error.status == 401:
        return InvalidCredentials(
            ERR_CREDENTIALS.format(code=error.code, operation=operation, pool=pool.label)
        )
    if error.status == 404:
        return InvalidPool(
            ERR_NOT_FOUND.format(
                pool_id=pool.instance_pool_id,
                region=pool.region or "(configured)",
                code=error.code,
                operation=operation,
            )
        )
    if error.status in RETRYABLE_STATUSES:
        return ProviderUnavailable(
            ERR_UNAVAILABLE.format(
                operation=operation, pool=pool.label, status=error.status, attempts=policy.attempts
            )
        )
    return ProviderError(
        ERR_REFUSED.format(
            operation=operation,
            pool=pool.label,
            status=error.status,
            code=error.code,
            message=error.message,
        )
    )
