"""Clones of a DAG and the AutoClone state of a parent.

A clone is an ordinary `Dag` row with its own name, linked to its parent by a `Clone` row. The
manager's state for a parent lives in one `AutoCloneStatus` row; it is changed only by a guarded
UPDATE keyed on the last action seen, so two managers ticking at once cannot both act in one
minute, and the unique (parent, minute) constraint on auto clones backs that up.
"""

from __future__ import annotations

from django.db import models

from dags.engine.autoclone import AutoCloneState


class Clone(models.Model):
    dag = models.OneToOneField(
        "dags.Dag", on_delete=models.CASCADE, related_name="clone_link", help_text="The clone."
    )
    parent = models.ForeignKey(
        "dags.Dag",
        on_delete=models.SET_NULL,
        null=True,
        related_name="clones",
        help_text="Empty once the parent is deleted; the manager then removes its auto clones.",
    )
    is_auto_clone = models.BooleanField(
        default=False,
        help_text="Made and managed by AutoClone; people cannot edit, stop or delete it.",
    )
    created_at = models.DateTimeField()
    created_by = models.CharField(max_length=150, blank=True)
    autoclone_minute = models.DateTimeField(
        null=True, blank=True, help_text="For auto clones: the minute the manager made it in."
    )

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["parent", "autoclone_minute"],
                condition=models.Q(autoclone_minute__isnull=False),
                name="one_auto_clone_per_parent_minute",
            )
        ]

    def __str__(self) -> str:
        return f"clone {self.dag_id} of {self.parent_id}"


class AutoCloneStatus(models.Model):
    dag = models.OneToOneField(
        "dags.Dag", on_delete=models.CASCADE, related_name="autoclone_status"
    )
    state = models.CharField(
        max_length=20,
        choices=[(state.value, state.value) for state in AutoCloneState],
        default=AutoCloneState.IDLE.value,
    )
    last_action_at = models.DateTimeField(
        null=True, blank=True, help_text="When the manager last created or deleted a clone."
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "AutoClone status"
        verbose_name_plural = "AutoClone statuses"

    def __str__(self) -> str:
        return f"{self.dag_id}: {self.state}"

    @property
    def ramp_up_completed(self) -> bool:
        return self.state == AutoCloneState.ACTIVE

    @property
    def ramp_down_started(self) -> bool:
        return self.state == AutoCloneState.RAMPING_DOWN
