"""The autoscaler's enums that the database stores, beside those of the pure core.

``Outcome`` and ``Pressure`` live in :mod:`autoscaler.decision` (the decision function returns
them); this module adds what only the Django side needs. Nothing here imports Django.
"""

from __future__ import annotations

import enum

from autoscaler.decision import Outcome, Pressure


def choices_of(enumeration: type[enum.StrEnum]) -> list[tuple[str, str]]:
    """``(value, label)`` pairs for a model field, labels read as words ("At limit")."""
    return [(member.value, member.value.replace("_", " ").capitalize()) for member in enumeration]


class EvaluationSource(enum.StrEnum):
    """Which loop produced an evaluation."""

    METRICS = "metrics"
    """The metric loop (every ``evaluation_interval_seconds``) or ``dagyard pools evaluate``."""
    SCHEDULE = "schedule"
    """The schedule check (every 60 s) driving a pool to a schedule's target."""


class NodeStatus(enum.StrEnum):
    """What an agent says about itself in its heartbeat."""

    HEALTHY = "healthy"
    DEGRADED = "degraded"
    ERROR = "error"


class NodeLiveness(enum.StrEnum):
    """What the backend concludes from when an agent last sent a heartbeat."""

    NEVER_SEEN = "never_seen"
    """Registered, but no heartbeat arrived yet."""
    ONLINE = "online"
    LOST = "lost"
    """No heartbeat for three heartbeat intervals."""


OUTCOME_CHOICES = choices_of(Outcome)
PRESSURE_CHOICES = choices_of(Pressure)

__all__ = [
    "OUTCOME_CHOICES",
    "PRESSURE_CHOICES",
    "EvaluationSource",
    "NodeLiveness",
    "NodeStatus",
    "Outcome",
    "Pressure",
    "choices_of",
]
