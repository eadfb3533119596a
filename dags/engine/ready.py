"""What a run should do next, as pure functions of its graph and its node states.

Services read the node states of one run from the database, ask here, and then make each move
with one guarded write. ``states`` maps node id to ``NodeState``; a node missing from it counts as
``PENDING``, so a run that has not written its node rows yet still plans correctly.

The hot path is ``children_ready_after``: when a node finishes, only its own children can have
become ready, so it looks at those children and their parents and nothing else. A child starts
the moment its last prerequisite finishes, with no layer barrier and no scan of the whole run.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from dags.engine.definition import FailurePolicy
from dags.engine.graph import Graph
from dags.states import (
    NODE_ACTIVE,
    NODE_SATISFIED,
    NODE_TERMINAL,
    NODE_UNSUCCESSFUL,
    NodeState,
    RunState,
)

States = Mapping[str, NodeState]


def _state(states: States, node_id: str) -> NodeState:
    return states.get(node_id, NodeState.PENDING)


def _can_start(graph: Graph, states: States, node_id: str) -> bool:
    return _state(states, node_id) == NodeState.PENDING and all(
        _state(states, parent) in NODE_SATISFIED for parent in graph.parents[node_id]
    )


def ready_nodes(graph: Graph, states: States) -> frozenset[str]:
    """Pending nodes whose prerequisites all succeeded or were skipped. O(nodes + edges).

    Use it to start a run (it returns the roots) and to recover one; after a single completion
    ``children_ready_after`` gives the same answer for a fraction of the work.
    """
    return frozenset(node_id for node_id in graph.order if _can_start(graph, states, node_id))


def children_ready_after(graph: Graph, states: States, finished: str) -> frozenset[str]:
    """Children of ``finished`` that can start now; ``states`` already holds its new state.

    Costs the number of its children times their parents. Two workers finishing two parents
    of one child at once may both get that child back; the guarded PENDING -> QUEUED write
    decides which of them sends it.
    """
    if _state(states, finished) not in NODE_SATISFIED:
        return frozenset()
    return frozenset(
        child for child in graph.children[finished] if _can_start(graph, states, child)
    )


def upstream_failed_after(graph: Graph, states: States, failed: str) -> frozenset[str]:
    """Pending nodes that depend on ``failed``, directly or not: they can never run now."""
    return frozenset(
        node_id
        for node_id in graph.descendants(failed)
        if _state(states, node_id) == NodeState.PENDING
    )


@dataclass(frozen=True, slots=True)
class FailurePlan:
    """The moves one final node failure calls for, under the DAG's ``FailurePolicy``.

    Under ``STOP`` nodes that depend on the failed one become ``UPSTREAM_FAILED`` (they could
    never have run), other pending nodes become ``CANCELLED`` (they could have run, but the run
    stopped), and in-flight nodes are cancelled (their processes killed, messages dropped).
    Under ``CONTINUE`` only the dependants move; everything else carries on.
    """

    upstream_failed: frozenset[str]
    """Pending dependants of the failed node: move them to ``UPSTREAM_FAILED``."""
    cancel_pending: frozenset[str]
    """Pending nodes that do not depend on it (``STOP`` only): move them to ``CANCELLED``."""
    cancel_active: frozenset[str]
    """Queued, waiting, running or retry-due nodes (``STOP`` only): stop and cancel them."""


def plan_failure(graph: Graph, states: States, failed: str, policy: FailurePolicy) -> FailurePlan:
    """What to do when ``failed`` has failed for good (no retries left)."""
    upstream_failed = upstream_failed_after(graph, states, failed)
    if policy is FailurePolicy.CONTINUE:
        return FailurePlan(upstream_failed, frozenset(), frozenset())
    cancel_pending: set[str] = set()
    cancel_active: set[str] = set()
    for node_id in graph.order:
        state = _state(states, node_id)
        if state == NodeState.PENDING and node_id not in upstream_failed:
            cancel_pending.add(node_id)
        elif state in NODE_ACTIVE:
            cancel_active.add(node_id)
    return FailurePlan(upstream_failed, frozenset(cancel_pending), frozenset(cancel_active))


def nodes_to_cancel(graph: Graph, states: States) -> frozenset[str]:
    """Every node not yet finished: what cancelling the whole run moves to ``CANCELLED``."""
    return frozenset(
        node_id for node_id in graph.order if _state(states, node_id) not in NODE_TERMINAL
    )


def nodes_to_reset(graph: Graph, states: States) -> frozenset[str]:
    """What retrying a finished run puts back to ``PENDING``: unsuccessful nodes, and their
    descendants, which can only be unsuccessful too. Succeeded and skipped nodes keep their
    results, so the retry runs only what is missing."""
    reset: set[str] = set()
    for node_id in graph.order:
        if node_id not in reset and _state(states, node_id) in NODE_UNSUCCESSFUL:
            reset.add(node_id)
            reset.update(graph.descendants(node_id))
    return frozenset(reset)


def run_outcome(graph: Graph, states: States) -> RunState | None:
    """The state a run ends in, or ``None`` while some node can still move.

    A pending node whose prerequisites (directly or not) failed or were cancelled can no longer
    move, even if nobody marked it yet, so it does not keep the run open. Any failure makes the
    run ``FAILED``; a cancellation without a failure makes it ``CANCELLED``.
    """
    blocked: set[str] = set()
    failed = cancelled = False
    for node_id in graph.order:  # parents come first, so `blocked` is complete when consulted
        state = _state(states, node_id)
        if state == NodeState.PENDING:
            stuck = any(
                parent in blocked or _state(states, parent) in NODE_UNSUCCESSFUL
                for parent in graph.parents[node_id]
            )
            if not stuck:
                return None
            # Whatever blocks it failed or was cancelled, and already counted as such.
            blocked.add(node_id)
        elif state in NODE_ACTIVE:
            return None
        elif state in (NodeState.FAILED, NodeState.UPSTREAM_FAILED):
            failed = True
        elif state == NodeState.CANCELLED:
            cancelled = True
    if failed:
        return RunState.FAILED
    if cancelled:
        return RunState.CANCELLED
    return RunState.SUCCEEDED
