"""How long a failed node waits before its next attempt.

Exponential backoff spreads retries of a flaky dependency out; the cap keeps a late retry from
waiting for hours; jitter keeps many nodes that failed together from retrying together.
"""

from __future__ import annotations

import random
from collections.abc import Callable

from dags.engine.definition import RetryPolicy

RETRY_DELAY_CEILING_SECONDS = 24 * 60 * 60.0
"""No retry waits longer than a day, even without ``max_delay_seconds``: a countdown beyond that
is a configuration mistake, and it keeps ``backoff ** attempt`` from overflowing."""


def retry_delay(
    policy: RetryPolicy, attempt: int, *, rand: Callable[[], float] = random.random
) -> float:
    """Seconds to wait before retry number ``attempt`` (1 for the first retry).

    ``delay × backoff^(attempt-1)``, capped by ``max_delay_seconds``, then shortened at random
    by up to ``jitter`` of itself. Jitter only shortens, so the cap holds and the delay a user
    asked for is never exceeded. ``rand`` returns a float in [0, 1); tests pass a fixed one.
    """
    if attempt < 1:
        raise ValueError(f"attempt counts retries from 1, got {attempt}")
    cap = RETRY_DELAY_CEILING_SECONDS
    if policy.max_delay_seconds is not None:
        cap = min(cap, policy.max_delay_seconds)
    try:
        delay = policy.delay_seconds * policy.backoff ** (attempt - 1)
    except OverflowError:
        delay = cap
    delay = min(delay, cap)
    return delay * (1.0 - policy.jitter * rand())


def has_retry_left(policy: RetryPolicy, attempts_made: int) -> bool:
    """Whether a node that has failed ``attempts_made`` times (first try included) may retry."""
    return attempts_made <= policy.retries
