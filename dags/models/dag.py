"""A DAG as the database keeps it: its validated definition and where it came from."""

from __future__ import annotations

from django.db import models


class Dag(models.Model):
    name = models.SlugField(max_length=200, unique=True, allow_unicode=False)
    description = models.TextField(blank=True)
    labels = models.JSONField(default=dict, blank=True)
    definition = models.JSONField(
        help_text="The validated definition (Dagyard's own format); runs copy it when they start."
    )
    definition_hash = models.CharField(max_length=64, editable=False)
    folder = models.CharField(
        max_length=1000, help_text="The folder the node scripts are run in and found relative to."
    )
    source_path = models.CharField(max_length=1000, blank=True)
    schedule = models.CharField(max_length=200, blank=True, help_text="cron expression, or empty")
    max_active_runs = models.PositiveIntegerField(default=1)
    is_paused = models.BooleanField(
        default=False, help_text="A paused DAG gets no scheduled runs; manual triggers still work."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        verbose_name = "DAG"
        verbose_name_plural = "DAGs"

    def __str__(self) -> str:
        return self.name
