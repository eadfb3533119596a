"""The backoff helper on its own: what is retried, how long it waits, when it gives up."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from autoscaler.providers.base import RetryPolicy, call_with_retries


class Busy(Exception):
    pass


class Broken(Exception):
    pass


def flaky(failures: list[Exception], result: str = "done") -> tuple[list[int], Callable[[], str]]:
    """A call that raises the given failures in turn, then returns ``result``."""
    attempts: list[int] = []

    def call() -> str:
        attempts.append(len(attempts) + 1)
        if failures:
            raise failures.pop(0)
        return result

    return attempts, call


def is_busy(error: Exception) -> bool:
    return isinstance(error, Busy)


def test_a_call_that_succeeds_is_made_once_and_never_waits() -> None:
    sleeps: list[float] = []
    attempts, call = flaky([])

    assert call_with_retries(call, is_retryable=is_busy, sleep=sleeps.append) == "done"
    assert (attempts, sleeps) == ([1], [])


def test_retryable_failures_wait_twice_as_long_each_time() -> None:
    sleeps: list[float] = []
    attempts, call = flaky([Busy(), Busy(), Busy()])

    result = call_with_retries(
        call, is_retryable=is_busy, policy=RetryPolicy(attempts=4), sleep=sleeps.append
    )

    assert result == "done"
    assert attempts == [1, 2, 3, 4]
    assert sleeps == [1.0, 2.0, 4.0]


def test_the_last_failure_is_raised_when_attempts_run_out() -> None:
    sleeps: list[float] = []
    last = Busy("third")
    _, call = flaky([Busy("first"), Busy("second"), last])

    with pytest.raises(Busy) as caught:
        call_with_retries(call, is_retryable=is_busy, sleep=sleeps.append)

    assert caught.value is last
    assert sleeps == [1.0, 2.0]


def test_a_failure_that_is_not_retryable_is_raised_at_once() -> None:
    sleeps: list[float] = []
    attempts, call = flaky([Broken()])

    with pytest.raises(Broken):
        call_with_retries(call, is_retryable=is_busy, sleep=sleeps.append)

    assert (attempts, sleeps) == ([1], [])


def test_delays_are_capped() -> None:
    policy = RetryPolicy(attempts=10, base_delay_seconds=2, max_delay_seconds=10)

    assert [policy.delay_after(attempt) for attempt in range(1, 6)] == [2, 4, 8, 10, 10]


def test_a_single_attempt_policy_never_retries() -> None:
    sleeps: list[float] = []
    _, call = flaky([Busy()])

    with pytest.raises(Busy):
        call_with_retries(
            call, is_retryable=is_busy, policy=RetryPolicy(attempts=1), sleep=sleeps.append
        )

    assert sleeps == []
