"""Runs, node runs, their attempts and the run's event log.

The database is the source of truth and the lock: every state change is one guarded UPDATE made
by `dags.services`, never a `save()` of a state read earlier.
"""

from __future__ import annotations

from django.db import models

from dags.states import NodeState, RunState

OUTPUT_LIMIT_BYTES = 64 * 1024


class DagRun(models.Model):
    class Trigger(models.TextChoices):
        MANUAL = "manual", "Manual"
        SCHEDULE = "schedule", "Schedule"
        API = "api", "API"

    dag = models.ForeignKey("dags.Dag", on_delete=models.CASCADE, related_name="runs")
    state = models.CharField(max_length=20, choices=RunState.choices(), default=RunState.QUEUED)
    definition = models.JSONField(help_text="The exact definition this run started with.")
    folder = models.CharField(max_length=1000)
    params = models.JSONField(default=dict, blank=True)
    trigger = models.CharField(max_length=20, choices=Trigger.choices, default=Trigger.MANUAL)
    triggered_by = models.CharField(max_length=150, blank=True)
    scheduled_for = models.DateTimeField(
        null=True, blank=True, help_text="For scheduled runs: the cron time this run is for."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    deadline_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["dag", "state"]), models.Index(fields=["state"])]
        constraints = [
            # Two beat processes sending the same tick cannot make two runs for one cron time.
            models.UniqueConstraint(
                fields=["dag", "scheduled_for"],
                condition=models.Q(scheduled_for__isnull=False),
                name="one_run_per_scheduled_time",
            )
        ]

    def __str__(self) -> str:
        return f"{self.dag.name} run {self.pk}"

    @property
    def duration_seconds(self) -> float | None:
        if self.started_at and self.finished_at:
            return (self.finished_at - self.started_at).total_seconds()
        return None


class NodeRun(models.Model):
    run = models.ForeignKey(DagRun, on_delete=models.CASCADE, related_name="node_runs")
    node_id = models.CharField(max_length=500)
    state = models.CharField(max_length=20, choices=NodeState.choices(), default=NodeState.PENDING)
    parents_remaining = models.PositiveIntegerField(
        default=0,
        help_text="Prerequisites not done yet; whoever brings it to 0 sends the node.",
    )
    attempts = models.PositiveIntegerField(default=0)
    attempts_at_reset = models.PositiveIntegerField(
        default=0, help_text="Attempts made before the run was last retried; retries count anew."
    )
    queue = models.CharField(max_length=200, blank=True)
    queued_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    waiting_since = models.DateTimeField(null=True, blank=True)
    exit_code = models.IntegerField(null=True, blank=True)
    error = models.TextField(blank=True)
    worker = models.CharField(max_length=300, blank=True)
    pid = models.IntegerField(null=True, blank=True)

    class Meta:
        ordering = ["run", "id"]
        constraints = [
            models.UniqueConstraint(fields=["run", "node_id"], name="one_node_run_per_node")
        ]
        indexes = [models.Index(fields=["run", "state"]), models.Index(fields=["state"])]

    def __str__(self) -> str:
        return f"{self.node_id} ({self.state})"

    @property
    def duration_seconds(self) -> float | None:
        if self.started_at and self.finished_at:
            return (self.finished_at - self.started_at).total_seconds()
        return None


class NodeAttempt(models.Model):
    """One launch of a node's process: its timings, exit and output (the benchmarks log)."""

    node_run = models.ForeignKey(NodeRun, on_delete=models.CASCADE, related_name="attempt_set")
    number = models.PositiveIntegerField()
    worker = models.CharField(max_length=300, blank=True)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    exit_code = models.IntegerField(null=True, blank=True)
    outcome = models.CharField(max_length=20, blank=True)
    output = models.TextField(blank=True)
    output_truncated = models.BooleanField(default=False)

    class Meta:
        ordering = ["node_run", "number"]
        constraints = [
            models.UniqueConstraint(fields=["node_run", "number"], name="one_row_per_attempt")
        ]

    def __str__(self) -> str:
        return f"attempt {self.number} of {self.node_run_id}"

    @property
    def duration_seconds(self) -> float | None:
        if self.finished_at:
            return (self.finished_at - self.started_at).total_seconds()
        return None


class RunEvent(models.Model):
    """The run's event log: INFO and ERROR lines, as the seed's main.log and error.log."""

    class Level(models.TextChoices):
        INFO = "INFO", "Info"
        ERROR = "ERROR", "Error"

    run = models.ForeignKey(DagRun, on_delete=models.CASCADE, related_name="events")
    node_id = models.CharField(max_length=500, blank=True)
    level = models.CharField(max_length=5, choices=Level.choices, default=Level.INFO)
    message = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["run", "id"]
        indexes = [models.Index(fields=["run", "id"])]

    def __str__(self) -> str:
        return f"{self.level} {self.message[:80]}"
