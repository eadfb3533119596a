"""Deployments and their steps.

The database is the source of truth: every id the cloud handed out is recorded the moment it
exists, so a resumed pipeline or ``deprovision`` finds it. State changes are guarded UPDATEs made
by ``provisioning.services``, never a ``save()`` of a state read earlier. No secret is stored:
the repository URL is kept without credentials, and cloud and API keys live in the environment.
"""

from __future__ import annotations

from typing import Any

from django.db import models

from provisioning.states import DeploymentState, Step, StepState


class Deployment(models.Model):
    name = models.CharField(max_length=63, unique=True)
    repo_url = models.CharField(max_length=2000, help_text="Without any user or token in it.")
    requested_node_type = models.CharField(max_length=100, blank=True)
    requested_duration_hours = models.PositiveIntegerField(null=True, blank=True)
    dry_run = models.BooleanField(default=False)
    state = models.CharField(
        max_length=20, choices=DeploymentState.choices(), default=DeploymentState.PENDING
    )
    current_step = models.CharField(max_length=40, choices=Step.choices(), blank=True)
    created_by = models.CharField(max_length=150, blank=True)

    plan = models.JSONField(
        default=dict,
        blank=True,
        help_text="Requirements, image, node type, lease window, each decision's source and "
        "reasoning, and the lease attempts with the cloud's answers.",
    )

    # What the cloud handed out, recorded as soon as it exists.
    server_name = models.CharField(max_length=100, blank=True)
    image_name = models.CharField(max_length=200, blank=True)
    image_id = models.CharField(max_length=100, blank=True)
    node_type = models.CharField(max_length=100, blank=True)
    keypair_name = models.CharField(max_length=100, blank=True)
    private_key_path = models.CharField(max_length=1000, blank=True)
    network_id = models.CharField(max_length=100, blank=True)
    lease_id = models.CharField(max_length=100, blank=True)
    reservation_id = models.CharField(max_length=100, blank=True)
    lease_start = models.CharField(max_length=40, blank=True)
    lease_end = models.CharField(max_length=40, blank=True)
    server_id = models.CharField(max_length=100, blank=True)
    fixed_ip = models.CharField(max_length=64, blank=True)
    floating_ip = models.CharField(max_length=64, blank=True)
    floating_ip_id = models.CharField(max_length=100, blank=True)
    ssh_user = models.CharField(max_length=64, blank=True)
    ssh_command = models.CharField(max_length=500, blank=True)
    info_path = models.CharField(max_length=1000, blank=True)
    info = models.JSONField(
        default=dict, blank=True, help_text="The same record as the {server_name}_info.json file."
    )

    error = models.TextField(blank=True)
    advice = models.TextField(blank=True, help_text="What the user can do about the error.")
    warnings = models.JSONField(default=list, blank=True)
    leftovers = models.JSONField(
        default=list,
        blank=True,
        help_text="Half-made cloud resources a failure left, for deprovision to remove.",
    )

    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(
        null=True, blank=True, help_text="Last sign of a worker on it; stale means resume it."
    )
    deprovisioned_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["state", "heartbeat_at"])]

    def __str__(self) -> str:
        return self.name

    @property
    def duration_seconds(self) -> float | None:
        if self.started_at and self.finished_at:
            return (self.finished_at - self.started_at).total_seconds()
        return None

    def cloud_resources(self) -> list[dict[str, Any]]:
        """What this deployment holds in the cloud now, in the order deprovision removes it."""
        found: list[dict[str, Any]] = []
        if self.server_id:
            found.append({"kind": "server", "id": self.server_id, "name": self.server_name})
        if self.floating_ip:
            found.append(
                {"kind": "floating_ip", "id": self.floating_ip_id, "name": self.floating_ip}
            )
        if self.lease_id:
            found.append({"kind": "lease", "id": self.lease_id, "name": self.lease_name})
        return found

    @property
    def lease_name(self) -> str:
        return f"dagyard-{self.name}"


class DeploymentStep(models.Model):
    deployment = models.ForeignKey(Deployment, on_delete=models.CASCADE, related_name="steps")
    position = models.PositiveSmallIntegerField()
    step = models.CharField(max_length=40, choices=Step.choices())
    state = models.CharField(max_length=20, choices=StepState.choices(), default=StepState.PENDING)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    message = models.TextField(blank=True)
    attempts = models.PositiveIntegerField(
        default=0, help_text="Times a worker took it up (each look at a pending lease counts)."
    )

    class Meta:
        ordering = ["deployment", "position"]
        constraints = [
            models.UniqueConstraint(fields=["deployment", "step"], name="one_row_per_step")
        ]

    def __str__(self) -> str:
        return f"{self.step} ({self.state})"

    @property
    def label(self) -> str:
        return Step(self.step).label

    @property
    def duration_seconds(self) -> float | None:
        if self.started_at and self.finished_at:
            return (self.finished_at - self.started_at).total_seconds()
        return None
