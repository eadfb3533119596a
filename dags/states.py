"""The states a DAG run and its node runs move through, and the named groups code asks about.

States are enums so that a typo is an AttributeError, not a row nobody can find. The groups are
frozensets so that a guarded write can say ``state__in=NODE_ACTIVE`` and a pure function can say
``state in NODE_TERMINAL`` with the same meaning everywhere. The allowed moves between states live
in ``dags.engine.transitions``. This module imports nothing from Django so the engine can use it.
"""

from __future__ import annotations

from enum import StrEnum


class NodeState(StrEnum):
    """Where one node of one run stands. The value is what the database stores."""

    PENDING = "pending"
    """Waiting for its prerequisites to finish."""
    QUEUED = "queued"
    """Sent to the broker; no worker has picked it up yet."""
    WAITING_RESOURCES = "waiting_resources"
    """A worker picked it up, found the host busy and retries the launch after a countdown."""
    RUNNING = "running"
    """Its process is running."""
    UP_FOR_RETRY = "up_for_retry"
    """Its last attempt failed and another attempt is due after the retry delay."""
    SUCCEEDED = "succeeded"
    """Its process exited with status 0."""
    FAILED = "failed"
    """Its last attempt failed (or timed out) and no retries are left."""
    UPSTREAM_FAILED = "upstream_failed"
    """It never ran because a node it depends on, directly or not, failed."""
    CANCELLED = "cancelled"
    """Stopped, or never started, because its run was cancelled or stopped by the failure policy."""
    SKIPPED = "skipped"
    """Deliberately not run; counts as done for the nodes that depend on it."""

    @property
    def label(self) -> str:
        """A human-readable name for pages and the admin ("Upstream failed")."""
        return self.value.replace("_", " ").capitalize()

    @classmethod
    def choices(cls) -> list[tuple[str, str]]:
        """``(value, label)`` pairs, the shape a model field's ``choices`` expects."""
        return [(state.value, state.label) for state in cls]


class RunState(StrEnum):
    """Where one run of a DAG stands. The value is what the database stores."""

    QUEUED = "queued"
    """Created; no node has been sent to a worker yet."""
    RUNNING = "running"
    """At least one node was sent to a worker and the run has not finished."""
    SUCCEEDED = "succeeded"
    """Every node succeeded or was skipped."""
    FAILED = "failed"
    """A node failed, or the deadline passed."""
    CANCELLED = "cancelled"
    """Someone cancelled it."""

    @property
    def label(self) -> str:
        """A human-readable name for pages and the admin."""
        return self.value.replace("_", " ").capitalize()

    @classmethod
    def choices(cls) -> list[tuple[str, str]]:
        """``(value, label)`` pairs, the shape a model field's ``choices`` expects."""
        return [(state.value, state.label) for state in cls]


NODE_TERMINAL: frozenset[NodeState] = frozenset(
    {
        NodeState.SUCCEEDED,
        NodeState.FAILED,
        NodeState.UPSTREAM_FAILED,
        NodeState.CANCELLED,
        NodeState.SKIPPED,
    }
)
"""A node in one of these states never moves again within its run (only a run retry resets it)."""

NODE_ACTIVE: frozenset[NodeState] = frozenset(
    {
        NodeState.QUEUED,
        NodeState.WAITING_RESOURCES,
        NodeState.RUNNING,
        NodeState.UP_FOR_RETRY,
    }
)
"""Dispatched and not finished: these hold a broker message or a process that a cancel must stop."""

NODE_SATISFIED: frozenset[NodeState] = frozenset({NodeState.SUCCEEDED, NodeState.SKIPPED})
"""A prerequisite in one of these states lets the nodes that depend on it start."""

NODE_UNSUCCESSFUL: frozenset[NodeState] = frozenset(
    {NodeState.FAILED, NodeState.UPSTREAM_FAILED, NodeState.CANCELLED}
)
"""Finished without doing its work: blocks dependants, and is what a run retry runs again."""

RUN_TERMINAL: frozenset[RunState] = frozenset(
    {RunState.SUCCEEDED, RunState.FAILED, RunState.CANCELLED}
)
"""A run in one of these states is over (only a run retry reopens it)."""

RUN_ACTIVE: frozenset[RunState] = frozenset({RunState.QUEUED, RunState.RUNNING})
"""A run in one of these states counts against its DAG's ``max_active_runs``."""
