"""Admin pages for deployments: a read-only record (changes go through the services)."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from provisioning.models import Deployment, DeploymentStep


class DeploymentStepInline(admin.TabularInline):
    model = DeploymentStep
    fields = ("position", "step", "state", "attempts", "started_at", "finished_at", "message")
    readonly_fields = fields
    extra = 0
    max_num = 0
    can_delete = False


@admin.register(Deployment)
class DeploymentAdmin(admin.ModelAdmin):
    list_display = ("name", "state", "current_step", "dry_run", "node_type", "floating_ip",
                    "created_at")  # fmt: skip
    list_filter = ("state", "dry_run")
    search_fields = ("name", "repo_url", "server_id", "lease_id")
    inlines = [DeploymentStepInline]

    def get_readonly_fields(self, request: HttpRequest, obj: Deployment | None = None) -> list[str]:
        return [field.name for field in Deployment._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(DeploymentStep)
class DeploymentStepAdmin(admin.ModelAdmin):
    list_display = ("deployment", "step", "state", "attempts", "started_at", "finished_at")
    list_filter = ("state", "step")
    readonly_fields = ("deployment", "position", "step", "state", "started_at", "finished_at",
                       "message", "attempts")  # fmt: skip

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
