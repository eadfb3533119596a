"""Every pair of states against the tables: the listed moves pass, every other move is refused."""

from __future__ import annotations

import itertools

import pytest

from dags.engine.transitions import can_move, can_reset, reset_sources, sources
from dags.states import NODE_TERMINAL, RUN_TERMINAL, NodeState, RunState

N = NodeState
R = RunState

ALLOWED_NODE_MOVES = {
    (N.PENDING, N.QUEUED),
    (N.PENDING, N.UPSTREAM_FAILED),
    (N.PENDING, N.CANCELLED),
    (N.PENDING, N.SKIPPED),
    (N.QUEUED, N.WAITING_RESOURCES),
    (N.QUEUED, N.RUNNING),
    (N.QUEUED, N.FAILED),
    (N.QUEUED, N.CANCELLED),
    (N.WAITING_RESOURCES, N.RUNNING),
    (N.WAITING_RESOURCES, N.FAILED),
    (N.WAITING_RESOURCES, N.CANCELLED),
    (N.RUNNING, N.SUCCEEDED),
    (N.RUNNING, N.FAILED),
    (N.RUNNING, N.UP_FOR_RETRY),
    (N.RUNNING, N.CANCELLED),
    (N.UP_FOR_RETRY, N.QUEUED),
    (N.UP_FOR_RETRY, N.FAILED),
    (N.UP_FOR_RETRY, N.CANCELLED),
}
ALLOWED_RUN_MOVES = {
    (R.QUEUED, R.RUNNING),
    (R.QUEUED, R.FAILED),
    (R.QUEUED, R.CANCELLED),
    (R.RUNNING, R.SUCCEEDED),
    (R.RUNNING, R.FAILED),
    (R.RUNNING, R.CANCELLED),
}
ALLOWED_NODE_RESETS = {
    (N.FAILED, N.PENDING),
    (N.UPSTREAM_FAILED, N.PENDING),
    (N.CANCELLED, N.PENDING),
}
ALLOWED_RUN_RESETS = {(R.FAILED, R.QUEUED), (R.CANCELLED, R.QUEUED)}


@pytest.mark.parametrize(("current", "target"), list(itertools.product(N, N)))
def test_a_node_moves_only_along_the_table(current: NodeState, target: NodeState) -> None:
    assert can_move(current, target) is ((current, target) in ALLOWED_NODE_MOVES)


@pytest.mark.parametrize(("current", "target"), list(itertools.product(R, R)))
def test_a_run_moves_only_along_the_table(current: RunState, target: RunState) -> None:
    assert can_move(current, target) is ((current, target) in ALLOWED_RUN_MOVES)


@pytest.mark.parametrize(("current", "target"), list(itertools.product(N, N)))
def test_a_retry_resets_only_unsuccessful_nodes_to_pending(
    current: NodeState, target: NodeState
) -> None:
    assert can_reset(current, target) is ((current, target) in ALLOWED_NODE_RESETS)


@pytest.mark.parametrize(("current", "target"), list(itertools.product(R, R)))
def test_a_retry_reopens_only_failed_or_cancelled_runs(current: RunState, target: RunState) -> None:
    assert can_reset(current, target) is ((current, target) in ALLOWED_RUN_RESETS)


def test_terminal_states_stay_terminal_in_the_normal_course() -> None:
    for current in NODE_TERMINAL:
        assert not any(can_move(current, target) for target in N)
    for run_current in RUN_TERMINAL:
        assert not any(can_move(run_current, target) for target in R)


def test_no_reset_move_is_also_a_normal_move() -> None:
    assert not (ALLOWED_NODE_RESETS & ALLOWED_NODE_MOVES)
    assert not (ALLOWED_RUN_RESETS & ALLOWED_RUN_MOVES)


def test_sources_give_the_states_a_guarded_write_may_start_from() -> None:
    assert sources(N.QUEUED) == {N.PENDING, N.UP_FOR_RETRY}
    assert sources(N.CANCELLED) == {
        N.PENDING,
        N.QUEUED,
        N.WAITING_RESOURCES,
        N.RUNNING,
        N.UP_FOR_RETRY,
    }
    assert sources(R.SUCCEEDED) == {R.RUNNING}
    assert sources(N.PENDING) == frozenset()
    assert reset_sources(N.PENDING) == {N.FAILED, N.UPSTREAM_FAILED, N.CANCELLED}
    assert reset_sources(R.QUEUED) == {R.FAILED, R.CANCELLED}


def test_mixing_node_and_run_states_is_a_type_error_not_a_silent_no() -> None:
    with pytest.raises(TypeError, match="cannot compare a NodeState with a RunState"):
        can_move(N.QUEUED, R.RUNNING)
