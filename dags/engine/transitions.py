"""The allowed state moves of runs and nodes, as data.

Every state write in the services is ``filter(pk=..., state__in=sources(to)).update(state=to)``:
the table below is where ``sources`` comes from, so a move the table does not list cannot happen,
and a redelivered message that tries a move already made finds no row to update.

Terminal states have no moves. The one way out of them is a run retry, which re-runs what did
not succeed; those moves live in a separate ``RESET`` table that only the retry service reads, so
no ordinary code path can reopen a finished node by accident.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from dags.states import NodeState, RunState

N = NodeState
R = RunState

NODE_MOVES: Mapping[NodeState, frozenset[NodeState]] = MappingProxyType(
    {
        # Sent to the broker once its prerequisites are done; or never run at all.
        N.PENDING: frozenset({N.QUEUED, N.UPSTREAM_FAILED, N.CANCELLED, N.SKIPPED}),
        # A worker took it: launch, or wait for resources. FAILED covers the queue timeout and
        # the run's deadline passing before it started.
        N.QUEUED: frozenset({N.WAITING_RESOURCES, N.RUNNING, N.FAILED, N.CANCELLED}),
        # Still busy hosts until the queue timeout or deadline: FAILED.
        N.WAITING_RESOURCES: frozenset({N.RUNNING, N.FAILED, N.CANCELLED}),
        # UP_FOR_RETRY also covers a reaped node whose worker died, when it has retries left.
        N.RUNNING: frozenset({N.SUCCEEDED, N.FAILED, N.UP_FOR_RETRY, N.CANCELLED}),
        # The retry message goes out after its delay; the deadline may pass first.
        N.UP_FOR_RETRY: frozenset({N.QUEUED, N.FAILED, N.CANCELLED}),
        N.SUCCEEDED: frozenset(),
        N.FAILED: frozenset(),
        N.UPSTREAM_FAILED: frozenset(),
        N.CANCELLED: frozenset(),
        N.SKIPPED: frozenset(),
    }
)
"""Node state -> the states it may move to during a run."""

RUN_MOVES: Mapping[RunState, frozenset[RunState]] = MappingProxyType(
    {
        # FAILED before RUNNING: the deadline passed while every root waited for resources.
        R.QUEUED: frozenset({R.RUNNING, R.FAILED, R.CANCELLED}),
        R.RUNNING: frozenset({R.SUCCEEDED, R.FAILED, R.CANCELLED}),
        R.SUCCEEDED: frozenset(),
        R.FAILED: frozenset(),
        R.CANCELLED: frozenset(),
    }
)
"""Run state -> the states it may move to."""

NODE_RESETS: Mapping[NodeState, frozenset[NodeState]] = MappingProxyType(
    {
        N.FAILED: frozenset({N.PENDING}),
        N.UPSTREAM_FAILED: frozenset({N.PENDING}),
        N.CANCELLED: frozenset({N.PENDING}),
    }
)
"""Moves a run retry makes on its unsuccessful nodes; succeeded and skipped nodes keep results."""

RUN_RESETS: Mapping[RunState, frozenset[RunState]] = MappingProxyType(
    {
        R.FAILED: frozenset({R.QUEUED}),
        R.CANCELLED: frozenset({R.QUEUED}),
    }
)
"""Moves a run retry makes on the run itself; a succeeded run has nothing to retry."""


def can_move(current: NodeState | RunState, target: NodeState | RunState) -> bool:
    """Whether a run or node may go from ``current`` to ``target`` in the normal course."""
    if isinstance(current, NodeState) and isinstance(target, NodeState):
        return target in NODE_MOVES.get(current, frozenset())
    if isinstance(current, RunState) and isinstance(target, RunState):
        return target in RUN_MOVES.get(current, frozenset())
    raise _mixed(current, target)


def can_reset(current: NodeState | RunState, target: NodeState | RunState) -> bool:
    """Whether a run retry may move a run or node from ``current`` back to ``target``."""
    if isinstance(current, NodeState) and isinstance(target, NodeState):
        return target in NODE_RESETS.get(current, frozenset())
    if isinstance(current, RunState) and isinstance(target, RunState):
        return target in RUN_RESETS.get(current, frozenset())
    raise _mixed(current, target)


def sources(target: NodeState | RunState) -> frozenset[NodeState] | frozenset[RunState]:
    """States a normal move to ``target`` may start from: the ``state__in`` of a guarded write."""
    if isinstance(target, NodeState):
        return frozenset(state for state, moves in NODE_MOVES.items() if target in moves)
    return frozenset(state for state, moves in RUN_MOVES.items() if target in moves)


def reset_sources(target: NodeState | RunState) -> frozenset[NodeState] | frozenset[RunState]:
    """States a run retry may move back to ``target`` from."""
    if isinstance(target, NodeState):
        return frozenset(state for state, moves in NODE_RESETS.items() if target in moves)
    return frozenset(state for state, moves in RUN_RESETS.items() if target in moves)


def _mixed(current: object, target: object) -> TypeError:
    # Node and run states share values ("queued", "failed"): mixing them is a bug, not a "no".
    return TypeError(f"cannot compare a {type(current).__name__} with a {type(target).__name__}")
