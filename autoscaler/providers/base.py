"""What the autoscaler needs from a cloud: read a pool's size, set it, and list its instances.

The interface is kept this small so that OpenStack, Kubernetes or a local Celery worker pool can
stand behind it. Failures are reported as a few domain errors whose messages name the pool and
say what to check, because they end up in a pool's evaluation record for a person to read.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, TypeVar, runtime_checkable

from autoscaler.pool_config import PoolConfig

logger = logging.getLogger(__name__)

T = TypeVar("T")

ERR_NEGATIVE_SIZE = "pool {pool}: cannot set a size below 0, got {size}"


class ProviderError(Exception):
    """A cloud call failed; the message names the pool and the operation."""


class InvalidCredentials(ProviderError):
    """The cloud refused who we are (401): no retry will help until the configuration changes."""


class InvalidPool(ProviderError):
    """The cloud does not know the pool (404): its id or region in the configuration is wrong."""


class ProviderUnavailable(ProviderError):
    """The cloud kept answering "busy" or "broken" (429, 500, 503) until the retries ran out."""


@dataclass(frozen=True)
class Instance:
    """One member of a pool, as much as metrics collection needs to know about it."""

    id: str
    state: str
    display_name: str = ""
    compartment_id: str = ""


@runtime_checkable
class Provider(Protocol):
    """A place whose pools have a size that can be read and set."""

    def current_size(self, pool: PoolConfig) -> int: ...

    def set_size(self, pool: PoolConfig, size: int) -> None: ...

    def list_instances(self, pool: PoolConfig) -> list[Instance]: ...


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff: ``attempts`` calls in all, waiting 1 s, 2 s, 4 s ... between them.

    The delays stay short on purpose: a cloud that is still busy after a few seconds is reported
    as :class:`ProviderUnavailable`, and the next evaluation (or a Celery retry) tries again
    rather than a worker sleeping for minutes.
    """

    attempts: int = 3
    base_delay_seconds: float = 1.0
    max_delay_seconds: float = 30.0

    def delay_after(self, attempt: int) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (counted from 1)."""
        return float(min(self.max_delay_seconds, self.base_delay_seconds * 2.0 ** (attempt - 1)))


def call_with_retries(
    call: Callable[[], T],
    *,
    is_retryable: Callable[[Exception], bool],
    policy: RetryPolicy = RetryPolicy(),  # noqa: B008 - frozen, so sharing the default is safe
    sleep: Callable[[float], None] = time.sleep,
    describe: str = "call",
) -> T:
    """Run ``call``, retrying the failures ``is_retryable`` accepts with exponential backoff.

    Any other failure is raised at once; when the attempts run out the last failure is raised.
    ``sleep`` is injectable so tests (and callers with their own clock) never really wait.
    """
    attempt = 1
    while True:
        try:
            return call()
        except Exception as error:
            if attempt >= policy.attempts or not is_retryable(error):
                raise
            delay = policy.delay_after(attempt)
            logger.warning(
                "%s failed (attempt %d of %d), retrying in %.1fs: %s",
                describe,
                attempt,
                policy.attempts,
                delay,
                error,
            )
            sleep(delay)
            attempt += 1


def check_size(pool: PoolConfig, size: int) -> None:
    """Refuse a negative size before it reaches a cloud."""
    if isinstance(size, bool) or not isinstance(size, int) or size < 0:
        raise ValueError(ERR_NEGATIVE_SIZE.format(pool=pool.label, size=size))
