"""Pools, their evaluations, worker pools on queue depth, and the agents that report to us.

A pool row holds exactly the fields of :class:`~autoscaler.pool_config.PoolConfig`; every save
goes through the same validation as ``config.yaml`` (``pool_from_mapping``), so an unknown
monitoring method or a schedule outside the limits is refused when it is saved, with the same
words as the file loader, and never discovered by the loop at 3 a.m.

Secrets (agent API keys, enrollment tokens) are stored as SHA-256 hashes only.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models

from autoscaler.decision import Outcome, Pressure, ScalingDecision
from autoscaler.pool_config import (
    DEFAULT_EVALUATION_INTERVAL_SECONDS,
    MONITORING_METHODS,
    PROVIDERS,
    MissingMetricsFallback,
    PoolConfig,
    PoolConfigError,
    pool_from_mapping,
    pool_to_mapping,
)
from autoscaler.states import (
    OUTCOME_CHOICES,
    PRESSURE_CHOICES,
    EvaluationSource,
    NodeLiveness,
    NodeStatus,
    choices_of,
)

HEARTBEAT_INTERVAL_SECONDS = 60
LOST_AFTER_INTERVALS = 3


class Pool(models.Model):
    """One scaled pool: an OCI instance pool, or a Celery worker pool on this machine."""

    name = models.CharField(
        max_length=200, unique=True, help_text="Defaults to the instance pool id on import."
    )
    provider = models.CharField(max_length=20, choices=[(p, p) for p in PROVIDERS], default="oci")
    instance_pool_id = models.CharField(
        max_length=255, help_text="The OCI instance pool OCID, or the Celery queue for 'local'."
    )
    region = models.CharField(max_length=100, blank=True)
    monitoring_method = models.CharField(
        max_length=20,
        help_text=f"One of: {', '.join(MONITORING_METHODS)}.",
    )
    prometheus_url = models.CharField(max_length=500, blank=True)
    cpu_threshold = models.FloatField(help_text="Scale up when average CPU % is above this.")
    ram_threshold = models.FloatField(help_text="Scale up when average RAM % is above this.")
    min_size = models.PositiveIntegerField()
    max_size = models.PositiveIntegerField()
    schedules = models.JSONField(
        default=list,
        blank=True,
        help_text='A list like [{"name": "business_hours", "start_time": "08:00", '
        '"end_time": "18:00", "target_instances": 5}].',
    )
    evaluation_interval_seconds = models.PositiveIntegerField(
        default=DEFAULT_EVALUATION_INTERVAL_SECONDS
    )
    scale_up_cooldown_seconds = models.PositiveIntegerField(default=0)
    scale_down_cooldown_seconds = models.PositiveIntegerField(default=0)
    sustained_breaches = models.PositiveIntegerField(
        default=1, help_text="Consecutive evaluations over a threshold before acting."
    )
    paused = models.BooleanField(default=False)
    missing_metrics = models.CharField(
        max_length=20,
        choices=choices_of(MissingMetricsFallback),
        default=MissingMetricsFallback.HOLD.value,
    )
    next_evaluation_at = models.DateTimeField(
        null=True, blank=True, help_text="When the metric loop evaluates this pool next."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def save(self, *args: Any, **kwargs: Any) -> None:
        # Validation, not logic: the same refusal the YAML loader gives, wherever a save comes from.
        self.to_config()
        super().save(*args, **kwargs)

    def config_mapping(self) -> dict[str, Any]:
        """The pool as a ``config.yaml`` entry; :func:`pool_from_mapping` reads it."""
        mapping: dict[str, Any] = {
            # A pool imported without a name is named after its id; export it the way it came.
            "name": self.name if self.name != self.instance_pool_id else None,
            "provider": self.provider,
            "instance_pool_id": self.instance_pool_id,
            "monitoring_method": self.monitoring_method,
            "cpu_threshold": self.cpu_threshold,
            "ram_threshold": self.ram_threshold,
            "scaling_limits": {"min": self.min_size, "max": self.max_size},
            "schedules": self.schedules or None,
            "evaluation_interval_seconds": self.evaluation_interval_seconds,
            "scale_up_cooldown_seconds": self.scale_up_cooldown_seconds,
            "scale_down_cooldown_seconds": self.scale_down_cooldown_seconds,
            "sustained_breaches": self.sustained_breaches,
            "paused": self.paused,
            "missing_metrics": self.missing_metrics,
        }
        if self.region:
            mapping["region"] = self.region
        if self.prometheus_url:
            mapping["prometheus_url"] = self.prometheus_url
        return mapping

    def to_config(self) -> PoolConfig:
        """The validated frozen config; raises :class:`PoolConfigError` naming the bad field."""
        return pool_from_mapping(self.config_mapping())

    def clean(self) -> None:
        try:
            self.to_config()
        except PoolConfigError as error:
            raise ValidationError(str(error)) from error


def pool_fields_from_config(config: PoolConfig) -> dict[str, Any]:
    """Model field values for a validated config (import, agent config sync)."""
    mapping = pool_to_mapping(config)
    return {
        "name": config.label,
        "provider": config.provider,
        "instance_pool_id": config.instance_pool_id,
        "region": config.region,
        "monitoring_method": config.monitoring_method,
        "prometheus_url": config.prometheus_url or "",
        "cpu_threshold": config.cpu_threshold,
        "ram_threshold": config.ram_threshold,
        "min_size": config.scaling_limits.min,
        "max_size": config.scaling_limits.max,
        "schedules": mapping.get("schedules", []),
        "evaluation_interval_seconds": config.evaluation_interval_seconds,
        "scale_up_cooldown_seconds": config.scale_up_cooldown_seconds,
        "scale_down_cooldown_seconds": config.scale_down_cooldown_seconds,
        "sustained_breaches": config.sustained_breaches,
        "paused": config.paused,
        "missing_metrics": config.missing_metrics.value,
    }


class PoolEvaluation(models.Model):
    """One evaluation of a pool, whatever it decided: so a user can see why nothing happened."""

    pool = models.ForeignKey(Pool, on_delete=models.CASCADE, related_name="evaluations")
    at = models.DateTimeField()
    source = models.CharField(
        max_length=20, choices=choices_of(EvaluationSource), default=EvaluationSource.METRICS
    )
    outcome = models.CharField(max_length=30, choices=OUTCOME_CHOICES)
    reason = models.TextField()
    pressure = models.CharField(max_length=10, choices=PRESSURE_CHOICES, default=Pressure.NONE)
    cpu = models.FloatField(null=True, blank=True, help_text="Average CPU % seen.")
    ram = models.FloatField(null=True, blank=True, help_text="Average RAM % seen.")
    instances = models.JSONField(
        default=list, blank=True, help_text="Per-instance metrics: id, cpu, ram."
    )
    size_before = models.PositiveIntegerField(null=True, blank=True)
    size_after = models.PositiveIntegerField(null=True, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["pool", "-at"]), models.Index(fields=["outcome"])]

    def __str__(self) -> str:
        return f"{self.pool} at {self.at:%Y-%m-%d %H:%M:%S}: {self.outcome}"

    def to_decision(self) -> ScalingDecision:
        """The core's view of this row, for cooldowns and sustained breaches."""
        return ScalingDecision(
            outcome=Outcome(self.outcome),
            current_size=self.size_before,
            target_size=self.size_after,
            reason=self.reason,
            at=self.at,
            cpu=self.cpu,
            ram=self.ram,
            pressure=Pressure(self.pressure),
        )


class WorkerPool(models.Model):
    """Workers for one worker type (a Celery queue), sized on the queue's depth.

    Desired workers = ceil(depth / factor) clamped to [min, max]; it is exported on ``/metrics``
    for an external scaler, and acted on here when ``scale_local_workers`` is on.
    """

    worker_type = models.CharField(max_length=200, unique=True, help_text="The Celery queue.")
    min_workers = models.PositiveIntegerField(default=0)
    max_workers = models.PositiveIntegerField(default=1)
    factor = models.PositiveIntegerField(default=1, help_text="Queued tasks one worker absorbs.")
    scale_local_workers = models.BooleanField(
        default=False, help_text="Start and stop worker processes on this machine to match."
    )
    last_depth = models.PositiveIntegerField(null=True, blank=True, editable=False)
    last_desired = models.PositiveIntegerField(null=True, blank=True, editable=False)
    last_scaled_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["worker_type"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(min_workers__lte=models.F("max_workers")),
                name="worker_pool_min_not_above_max",
            ),
            models.CheckConstraint(condition=models.Q(factor__gte=1), name="worker_pool_factor"),
        ]

    def __str__(self) -> str:
        return self.worker_type


class EnrollmentToken(models.Model):
    """Lets an agent register; created by an admin, shown once, stored hashed."""

    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    note = models.CharField(max_length=200, blank=True)
    max_uses = models.PositiveIntegerField(default=1)
    uses = models.PositiveIntegerField(default=0, editable=False)
    expires_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"enrollment token {self.pk} ({self.note or 'no note'})"

    def usable_at(self, now: dt.datetime) -> bool:
        return self.uses < self.max_uses and (self.expires_at is None or now < self.expires_at)


class AgentNode(models.Model):
    """An agent (a Dagyard installation elsewhere) that heartbeats to this backend."""

    name = models.CharField(max_length=200)
    api_key_hash = models.CharField(max_length=64, unique=True, editable=False)
    status = models.CharField(max_length=20, choices=choices_of(NodeStatus), blank=True)
    config = models.JSONField(
        default=dict, blank=True, help_text="The node's central configuration ({'pools': [...]})."
    )
    config_hash = models.CharField(max_length=64, blank=True, editable=False)
    config_updated_at = models.DateTimeField(null=True, blank=True, editable=False)
    reported_config_hash = models.CharField(max_length=64, blank=True, editable=False)
    last_heartbeat_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_analytics = models.JSONField(default=dict, blank=True, editable=False)
    registered_at = models.DateTimeField(auto_now_add=True)
    enrollment_token = models.ForeignKey(
        EnrollmentToken, null=True, blank=True, on_delete=models.SET_NULL, editable=False
    )

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return f"{self.name} (node {self.pk})"

    def liveness_at(self, now: dt.datetime) -> NodeLiveness:
        if self.last_heartbeat_at is None:
            return NodeLiveness.NEVER_SEEN
        silence = (now - self.last_heartbeat_at).total_seconds()
        if silence > LOST_AFTER_INTERVALS * HEARTBEAT_INTERVAL_SECONDS:
            return NodeLiveness.LOST
        return NodeLiveness.ONLINE

    @property
    def config_in_sync(self) -> bool:
        return bool(self.config_hash) and self.config_hash == self.reported_config_hash
