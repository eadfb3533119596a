"""The one error type Dagyard's DAG services raise, and the exact words of each refusal."""

from __future__ import annotations

RUN_LIMIT_REACHED = (
    "DAG {dag!r} already has {active} active run(s) and allows {limit} (max_active_runs); "
    "wait for one to finish, cancel one, or raise the limit"
)
DUPLICATE_SCHEDULED_RUN = "DAG {dag!r} already has a run for the scheduled time {when}"
BAD_PARAM_NAME = (
    "parameter {name!r} is not a valid environment variable name "
    "(letters, digits and '_', not starting with a digit)"
)
RESERVED_PARAM_NAME = "parameter {name!r} would replace a variable Dagyard or the system sets"
BAD_PARAM_VALUE = "parameter {name!r} must be a string without NUL characters"
BAD_PARAM_SYNTAX = "parameter {text!r} must be written NAME=VALUE"
RUN_ALREADY_FINISHED = "run {run} has already finished ({state}); there is nothing to cancel"
RUN_NOT_RETRYABLE = "run {run} is {state}; only a failed or cancelled run can be retried"
UNKNOWN_DAG = "no DAG is named {name!r}"
UNKNOWN_RUN = "no run has the id {run!r}"
UNKNOWN_NODE = "run {run} has no node {node!r}"


class DagError(Exception):
    """A refused request about DAGs or runs; the message names what was wrong."""


class RunRefused(DagError):
    """A run cannot start or change now (a conflict rather than bad input)."""
