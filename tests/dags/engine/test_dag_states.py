"""The state enums and their groups agree with each other."""

from __future__ import annotations

from dags.states import (
    NODE_ACTIVE,
    NODE_SATISFIED,
    NODE_TERMINAL,
    NODE_UNSUCCESSFUL,
    RUN_ACTIVE,
    RUN_TERMINAL,
    NodeState,
    RunState,
)


def test_every_node_state_is_either_pending_active_or_terminal_and_only_one() -> None:
    pending = {NodeState.PENDING}
    assert pending | NODE_ACTIVE | NODE_TERMINAL == set(NodeState)
    assert not (NODE_ACTIVE & NODE_TERMINAL)
    assert NodeState.PENDING not in NODE_ACTIVE | NODE_TERMINAL


def test_finished_nodes_are_either_satisfied_or_unsuccessful() -> None:
    assert NODE_SATISFIED | NODE_UNSUCCESSFUL == NODE_TERMINAL
    assert not (NODE_SATISFIED & NODE_UNSUCCESSFUL)


def test_every_run_state_is_either_active_or_terminal() -> None:
    assert set(RunState) == RUN_ACTIVE | RUN_TERMINAL
    assert not (RUN_ACTIVE & RUN_TERMINAL)


def test_states_store_as_plain_strings_and_read_as_labels() -> None:
    assert NodeState.UPSTREAM_FAILED == "upstream_failed"
    assert NodeState.UPSTREAM_FAILED.label == "Upstream failed"
    assert ("waiting_resources", "Waiting resources") in NodeState.choices()
    assert RunState.choices()[0] == ("queued", "Queued")
