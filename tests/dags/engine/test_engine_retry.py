"""Retry delays: exponential backoff, its cap, and jitter that only ever shortens."""

from __future__ import annotations

import pytest

from dags.engine.definition import RetryPolicy
from dags.engine.retry import RETRY_DELAY_CEILING_SECONDS, has_retry_left, retry_delay


def no_jitter() -> float:
    return 0.0


def test_each_retry_waits_backoff_times_longer_than_the_one_before() -> None:
    policy = RetryPolicy(retries=5, delay_seconds=10, backoff=2)
    assert [retry_delay(policy, attempt, rand=no_jitter) for attempt in range(1, 5)] == [
        10,
        20,
        40,
        80,
    ]


def test_the_delay_never_exceeds_its_cap() -> None:
    policy = RetryPolicy(retries=9, delay_seconds=10, backoff=3, max_delay_seconds=60)
    assert retry_delay(policy, 3, rand=no_jitter) == 60
    assert retry_delay(policy, 9, rand=no_jitter) == 60


def test_a_huge_backoff_stops_at_the_engine_ceiling_instead_of_overflowing() -> None:
    policy = RetryPolicy(retries=5000, delay_seconds=1, backoff=10)
    assert retry_delay(policy, 5000, rand=no_jitter) == RETRY_DELAY_CEILING_SECONDS


def test_jitter_shortens_the_delay_by_at_most_its_fraction() -> None:
    policy = RetryPolicy(retries=3, delay_seconds=100, jitter=0.25, max_delay_seconds=100)
    assert retry_delay(policy, 1, rand=lambda: 0.0) == 100
    assert retry_delay(policy, 1, rand=lambda: 0.5) == 87.5
    assert retry_delay(policy, 1, rand=lambda: 0.999999) == pytest.approx(75, abs=1e-3)


def test_without_jitter_the_random_source_does_not_matter() -> None:
    policy = RetryPolicy(retries=1, delay_seconds=5)
    assert retry_delay(policy, 1, rand=lambda: 0.9) == 5


def test_attempts_count_from_one() -> None:
    with pytest.raises(ValueError, match="attempt counts retries from 1, got 0"):
        retry_delay(RetryPolicy(), 0)


def test_a_node_retries_as_many_times_as_its_policy_allows() -> None:
    policy = RetryPolicy(retries=2)
    assert [has_retry_left(policy, made) for made in (1, 2, 3)] == [True, True, False]
    assert has_retry_left(RetryPolicy(), 1) is False
