"""The one error a bad definition raises, and the exact text of every problem it can report.

The templates are module constants so that tests assert the very words users read, and so that
the loader, the admin and ``dagyard dags validate`` all say the same thing about the same mistake.
``{where}`` is ``DAG`` for a top-level key and ``node 'id'`` for a node's key.
"""

from __future__ import annotations

from collections.abc import Sequence

# Reading the file.
UNSUPPORTED_SUFFIX = "unsupported file type {suffix!r}; use .yaml, .yml or .json"
UNREADABLE = "cannot be read: {reason}"
SYNTAX_ERROR = "is not valid {language}: {reason}"
DUPLICATE_KEY = "key {key!r} appears more than once in the same mapping"

# Shape and types.
NOT_A_MAPPING = "{where}: must be a mapping, got {value!r}"
UNKNOWN_KEY = "{where}: unknown key {key!r} (allowed: {allowed})"
WRONG_TYPE = "{where}: {key} must be {expected}, got {value!r}"
NO_NODES = "DAG: nodes must hold at least one node"
NODE_WITHOUT_ID = "node #{position}: has no id"
EMPTY_COMMAND = "{where}: command must not be empty"
SHELL_NEEDS_STRING = "{where}: a command run through the shell must be a string, not a list"
BAD_FAILURE_POLICY = "DAG: failure_policy must be 'stop' or 'continue', got {value!r}"
BAD_RUN_MODE = "DAG: run_mode must be 'schedule' or 'continuous', got {value!r}"

# Values.
BAD_NAME = (
    "DAG: name must start with a letter or digit and hold only letters, digits, '.', '_' and "
    "'-' (at most 200), got {value!r}"
)
BAD_NODE_ID = (
    "node {node!r}: id must start with a letter or digit and hold only letters, digits, '.', "
    "'_' and '-' (at most 200)"
)
THRESHOLD_NOT_NUMBER = "{where}: resources.{key} must be a number or null, got {value!r}"
THRESHOLD_NOT_PERCENT = "{where}: resources.{key} must be between 0 and 100, got {value!r}"
THRESHOLD_NEGATIVE = "{where}: resources.{key} must not be negative, got {value!r}"
BAD_DURATION = "{where}: {key} must be a positive number of seconds or null, got {value!r}"
BAD_MAX_ACTIVE_RUNS = "DAG: max_active_runs must be a whole number of at least 1, got {value!r}"
BAD_CRON = "DAG: schedule {value!r} is not a valid cron expression"
BAD_RETRIES = "{where}: retry.retries must be a whole number of at least 0, got {value!r}"
BAD_RETRY_SECONDS = "{where}: retry.{key} must be a number of seconds of at least 0, got {value!r}"
BAD_BACKOFF = "{where}: retry.backoff must be a number of at least 1, got {value!r}"
BAD_JITTER = "{where}: retry.jitter must be true, false or a fraction from 0 to 1, got {value!r}"

# The graph and the files.
DUPLICATE_NODE = "node {node!r}: defined more than once"
UNKNOWN_PREREQUISITE = "node {node!r}: prerequisite {missing!r} is not a node of this DAG"
CYCLE = "the nodes form a cycle: {cycle}"
SCRIPT_MISSING = "node {node!r}: script {script!r} does not exist in the DAG folder"
SCRIPT_OUTSIDE_FOLDER = "node {node!r}: script {script!r} lies outside the DAG folder"
SCRIPT_NOT_EXECUTABLE = (
    "node {node!r}: script {script!r} is not executable; mark it executable or name its "
    "interpreter in an argument list"
)


class DefinitionError(ValueError):
    """A definition that cannot be used, with every problem found in it.

    ``problems`` lists them all so a user fixes a file in one pass, not one error per attempt;
    ``source`` names the file (or the admin form) they came from.
    """

    def __init__(self, source: str, problems: Sequence[str]) -> None:
        self.source = source
        self.problems: list[str] = list(problems)
        super().__init__(render_problems(source, self.problems))


def render_problems(source: str, problems: Sequence[str]) -> str:
    """One line for one problem; a counted list for several, so none hides behind the first."""
    if len(problems) == 1:
        return f"{source}: {problems[0]}"
    lines = [f"{source}: {len(problems)} problems:"]
    lines.extend(f"  - {problem}" for problem in problems)
    return "\n".join(lines)
