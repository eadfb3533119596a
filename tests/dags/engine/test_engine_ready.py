"""A diamond DAG driven one completion at a time, the way workers report back.

    a
   / \\
  b   c
   \\ /
    d      (plus `e`, independent of all of them, for the failure policies)
"""

from __future__ import annotations

from pathlib import Path

import pytest

from dags.engine.definition import FailurePolicy, parse_definition
from dags.engine.graph import Graph
from dags.engine.ready import (
    FailurePlan,
    children_ready_after,
    nodes_to_cancel,
    nodes_to_reset,
    plan_failure,
    ready_nodes,
    run_outcome,
    upstream_failed_after,
)
from dags.engine.transitions import can_move, can_reset
from dags.engine.validation import validate
from dags.states import NodeState, RunState

N = NodeState


def build(nodes: dict[str, list[str]]) -> Graph:
    data = {
        "nodes": [
            {"id": node_id, "command": ["true"], "in": needs} for node_id, needs in nodes.items()
        ]
    }
    definition = parse_definition(
        data, source="diamond.yaml", folder=Path("/nonexistent"), default_name="diamond"
    )
    return validate(definition, check_files=False)


DIAMOND = {"a": [], "b": ["a"], "c": ["a"], "d": ["b", "c"]}
DIAMOND_AND_LONER = {**DIAMOND, "e": []}


class Run:
    """Node states of one run, moved only along the transition table, as the services do."""

    def __init__(self, graph: Graph) -> None:
        self.graph = graph
        self.states: dict[str, NodeState] = dict.fromkeys(graph.order, N.PENDING)

    def move(self, node_id: str, target: NodeState) -> None:
        assert can_move(self.states[node_id], target), (node_id, self.states[node_id], target)
        self.states[node_id] = target

    def dispatch(self, node_ids: frozenset[str]) -> None:
        for node_id in node_ids:
            self.move(node_id, N.QUEUED)

    def start(self, node_id: str) -> None:
        self.move(node_id, N.RUNNING)

    def finish(self, node_id: str, target: NodeState = N.SUCCEEDED) -> frozenset[str]:
        self.move(node_id, target)
        return children_ready_after(self.graph, self.states, node_id)


def test_a_new_run_dispatches_only_the_root() -> None:
    run = Run(build(DIAMOND))
    assert ready_nodes(run.graph, run.states) == {"a"}
    assert run_outcome(run.graph, run.states) is None


def test_siblings_become_ready_together_when_their_parent_succeeds() -> None:
    run = Run(build(DIAMOND))
    run.dispatch(ready_nodes(run.graph, run.states))
    run.start("a")
    assert run.finish("a") == {"b", "c"}


def test_the_join_waits_for_its_last_parent_and_is_dispatched_once() -> None:
    run = Run(build(DIAMOND))
    run.dispatch(ready_nodes(run.graph, run.states))
    run.start("a")
    run.dispatch(run.finish("a"))
    run.start("b")
    run.start("c")
    assert run.finish("b") == frozenset()
    assert run.finish("c") == {"d"}
    run.dispatch(frozenset({"d"}))
    # A redelivered completion of `c` finds `d` no longer pending: nothing to send twice.
    assert children_ready_after(run.graph, run.states, "c") == frozenset()
    assert ready_nodes(run.graph, run.states) == frozenset()
    run.start("d")
    assert run_outcome(run.graph, run.states) is None
    run.finish("d")
    assert run_outcome(run.graph, run.states) is RunState.SUCCEEDED


def test_a_skipped_node_counts_as_done_for_its_children() -> None:
    run = Run(build(DIAMOND))
    run.dispatch(ready_nodes(run.graph, run.states))
    run.start("a")
    run.dispatch(run.finish("a"))
    run.start("b")
    run.finish("b")
    run.states["c"] = N.PENDING  # as if never dispatched, then skipped by a user
    run.move("c", N.SKIPPED)
    assert children_ready_after(run.graph, run.states, "c") == {"d"}
    run.dispatch(frozenset({"d"}))
    run.start("d")
    run.finish("d")
    assert run_outcome(run.graph, run.states) is RunState.SUCCEEDED


def test_a_node_with_retries_left_goes_back_to_the_queue_and_then_unblocks_the_join() -> None:
    run = Run(build(DIAMOND))
    run.dispatch(ready_nodes(run.graph, run.states))
    run.start("a")
    run.dispatch(run.finish("a"))
    run.start("b")
    run.start("c")
    run.finish("b")
    assert run.finish("c", N.UP_FOR_RETRY) == frozenset()
    assert run_outcome(run.graph, run.states) is None
    run.move("c", N.QUEUED)
    run.move("c", N.WAITING_RESOURCES)
    run.start("c")
    assert run.finish("c") == {"d"}


def test_a_failed_parent_marks_the_join_upstream_failed_and_fails_the_run() -> None:
    run = Run(build(DIAMOND))
    run.dispatch(ready_nodes(run.graph, run.states))
    run.start("a")
    run.dispatch(run.finish("a"))
    run.start("b")
    run.start("c")
    assert run.finish("b", N.FAILED) == frozenset()
    assert upstream_failed_after(run.graph, run.states, "b") == {"d"}
    plan = plan_failure(run.graph, run.states, "b", FailurePolicy.CONTINUE)
    assert plan == FailurePlan(frozenset({"d"}), frozenset(), frozenset())
    run.move("d", N.UPSTREAM_FAILED)
    assert run_outcome(run.graph, run.states) is None  # `c` is still running
    run.finish("c")
    assert run_outcome(run.graph, run.states) is RunState.FAILED


def test_stop_cancels_in_flight_and_independent_nodes_and_blames_dependants() -> None:
    run = Run(build(DIAMOND_AND_LONER))
    run.dispatch(frozenset({"a"}))  # `e` not sent yet: a second worker slot was busy
    run.start("a")
    run.dispatch(run.finish("a"))
    run.start("b")
    run.start("c")
    run.finish("c", N.FAILED)
    plan = plan_failure(run.graph, run.states, "c", FailurePolicy.STOP)
    assert plan == FailurePlan(
        upstream_failed=frozenset({"d"}),
        cancel_pending=frozenset({"e"}),
        cancel_active=frozenset({"b"}),
    )
    for node_id in plan.upstream_failed:
        run.move(node_id, N.UPSTREAM_FAILED)
    for node_id in plan.cancel_pending | plan.cancel_active:
        run.move(node_id, N.CANCELLED)
    assert run_outcome(run.graph, run.states) is RunState.FAILED


def test_continue_lets_an_independent_branch_finish_after_a_failure() -> None:
    run = Run(build(DIAMOND_AND_LONER))
    run.dispatch(ready_nodes(run.graph, run.states))
    run.start("a")
    run.finish("a", N.FAILED)
    plan = plan_failure(run.graph, run.states, "a", FailurePolicy.CONTINUE)
    assert plan.upstream_failed == {"b", "c", "d"}
    for node_id in plan.upstream_failed:
        run.move(node_id, N.UPSTREAM_FAILED)
    assert run_outcome(run.graph, run.states) is None  # `e` is queued and will run
    run.start("e")
    run.finish("e")
    assert run_outcome(run.graph, run.states) is RunState.FAILED


def test_a_pending_node_behind_a_failure_does_not_keep_the_run_open() -> None:
    graph = build(DIAMOND)
    states = {"a": N.FAILED, "b": N.PENDING, "c": N.PENDING, "d": N.PENDING}
    assert run_outcome(graph, states) is RunState.FAILED


def test_retrying_a_failed_run_resets_the_failure_and_its_dependants_only() -> None:
    run = Run(build(DIAMOND_AND_LONER))
    run.dispatch(ready_nodes(run.graph, run.states))
    run.start("a")
    run.start("e")
    run.finish("e")
    run.dispatch(run.finish("a"))
    run.start("b")
    run.start("c")
    run.finish("b")
    run.finish("c", N.FAILED)
    run.move("d", N.UPSTREAM_FAILED)
    assert run_outcome(run.graph, run.states) is RunState.FAILED

    reset = nodes_to_reset(run.graph, run.states)
    assert reset == {"c", "d"}
    for node_id in reset:
        assert can_reset(run.states[node_id], N.PENDING)
        run.states[node_id] = N.PENDING
    assert ready_nodes(run.graph, run.states) == {"c"}
    run.dispatch(frozenset({"c"}))
    run.start("c")
    assert run.finish("c") == {"d"}


def test_cancelling_a_run_cancels_every_unfinished_node() -> None:
    run = Run(build(DIAMOND_AND_LONER))
    run.dispatch(ready_nodes(run.graph, run.states))
    run.start("a")
    run.finish("a")
    assert nodes_to_cancel(run.graph, run.states) == {"b", "c", "d", "e"}
    for node_id in nodes_to_cancel(run.graph, run.states):
        run.move(node_id, N.CANCELLED)
    assert run_outcome(run.graph, run.states) is RunState.CANCELLED


def test_a_node_missing_from_the_states_counts_as_pending() -> None:
    graph = build(DIAMOND)
    assert ready_nodes(graph, {}) == {"a"}
    assert children_ready_after(graph, {"a": N.SUCCEEDED}, "a") == {"b", "c"}


@pytest.mark.parametrize("state", [N.FAILED, N.UP_FOR_RETRY, N.RUNNING, N.CANCELLED])
def test_a_parent_that_did_not_succeed_readies_no_children(state: NodeState) -> None:
    graph = build(DIAMOND)
    assert children_ready_after(graph, {"a": state}, "a") == frozenset()


def test_plain_strings_read_from_the_database_work_like_the_enum() -> None:
    graph = build(DIAMOND)
    states = {"a": "succeeded", "b": "succeeded", "c": "pending", "d": "pending"}
    assert ready_nodes(graph, states) == {"c"}  # type: ignore[arg-type]
    assert run_outcome(graph, {"a": "failed", "b": "pending"}) is RunState.FAILED  # type: ignore[arg-type]
