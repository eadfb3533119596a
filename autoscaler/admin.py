"""Admin pages for pools, their evaluations, worker pools and agents.

Evaluations are a record, so they are read-only here. Secrets never appear: API keys and
enrollment tokens are stored hashed and are shown once, by the command or endpoint that made them.
"""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.contrib import admin
from django.utils import timezone

from autoscaler.models import AgentNode, EnrollmentToken, Pool, PoolEvaluation, WorkerPool
from autoscaler.pool_config import PoolConfigError, load_pools_yaml
from autoscaler.services.nodes import set_node_config


class PoolEvaluationInline(admin.TabularInline):
    model = PoolEvaluation
    fields = ("at", "source", "outcome", "size_before", "size_after", "cpu", "ram", "reason")
    readonly_fields = fields
    ordering = ("-at",)
    extra = 0
    max_num = 0
    can_delete = False
    show_change_link = True

    def get_queryset(self, request):  # type: ignore[no-untyped-def]
        # The newest few: a pool evaluated every five minutes has thousands of rows a month.
        queryset = super().get_queryset(request)
        latest = list(queryset.order_by("-at", "-id").values_list("pk", flat=True)[:20])
        return queryset.filter(pk__in=latest)


@admin.register(Pool)
class PoolAdmin(admin.ModelAdmin):
    list_display = (
        "name",
        "provider",
        "monitoring_method",
        "instance_pool_id",
        "region",
        "min_size",
        "max_size",
        "cpu_threshold",
        "ram_threshold",
        "paused",
        "next_evaluation_at",
    )
    list_filter = ("provider", "monitoring_method", "paused", "region")
    search_fields = ("name", "instance_pool_id", "region")
    readonly_fields = ("next_evaluation_at", "created_at", "updated_at")
    inlines = (PoolEvaluationInline,)
    fieldsets = (
        (None, {"fields": ("name", "provider", "instance_pool_id", "region", "paused")}),
        ("Metrics", {"fields": ("monitoring_method", "prometheus_url", "missing_metrics")}),
        (
            "Scaling",
            {
                "fields": (
                    "cpu_threshold",
                    "ram_threshold",
                    "min_size",
                    "max_size",
                    "schedules",
                    "evaluation_interval_seconds",
                    "scale_up_cooldown_seconds",
                    "scale_down_cooldown_seconds",
                    "sustained_breaches",
                )
            },
        ),
        ("Record", {"fields": ("next_evaluation_at", "created_at", "updated_at")}),
    )


@admin.register(PoolEvaluation)
class PoolEvaluationAdmin(admin.ModelAdmin):
    list_display = (
        "at",
        "pool",
        "source",
        "outcome",
        "size_before",
        "size_after",
        "cpu",
        "ram",
        "reason",
    )
    list_filter = ("outcome", "source", "pool")
    search_fields = ("pool__name", "reason", "error")
    date_hierarchy = "at"
    list_select_related = ("pool",)

    def has_add_permission(self, request) -> bool:  # type: ignore[no-untyped-def]
        return False

    def has_change_permission(self, request, obj=None) -> bool:  # type: ignore[no-untyped-def]
        return False


@admin.register(WorkerPool)
class WorkerPoolAdmin(admin.ModelAdmin):
    list_display = (
        "worker_type",
        "min_workers",
        "max_workers",
        "factor",
        "scale_local_workers",
        "last_depth",
        "last_desired",
        "last_scaled_at",
    )
    list_filter = ("scale_local_workers",)
    search_fields = ("worker_type",)
    readonly_fields = ("last_depth", "last_desired", "last_scaled_at")


class AgentNodeForm(forms.ModelForm):
    class Meta:
        model = AgentNode
        fields = ("name", "status", "config")

    def clean_config(self) -> Any:
        config = self.cleaned_data["config"]
        if config in ({}, None):
            return {}
        try:
            load_pools_yaml(json.dumps(config))
        except PoolConfigError as error:
            raise forms.ValidationError(str(error)) from error
        return config


@admin.register(AgentNode)
class AgentNodeAdmin(admin.ModelAdmin):
    form = AgentNodeForm
    list_display = (
        "name",
        "id",
        "status",
        "liveness",
        "last_heartbeat_at",
        "config_in_sync",
        "registered_at",
    )
    list_filter = ("status",)
    search_fields = ("name",)
    readonly_fields = (
        "config_hash",
        "config_updated_at",
        "reported_config_hash",
        "last_heartbeat_at",
        "last_analytics",
        "registered_at",
    )

    def save_model(self, request, obj, form, change) -> None:  # type: ignore[no-untyped-def]
        super().save_model(request, obj, form, change)
        if "config" in form.changed_data and obj.config:
            # The same service as PUT /api/nodes/<id>/config: normalised, hashed, picked up by
            # the agent's next heartbeat.
            set_node_config(obj, config=obj.config, now=timezone.now())

    @admin.display(description="liveness")
    def liveness(self, node: AgentNode) -> str:
        return node.liveness_at(timezone.now()).value.replace("_", " ")

    @admin.display(boolean=True, description="config in sync")
    def config_in_sync(self, node: AgentNode) -> bool:
        return node.config_in_sync


@admin.register(EnrollmentToken)
class EnrollmentTokenAdmin(admin.ModelAdmin):
    list_display = ("id", "note", "uses", "max_uses", "expires_at", "created_at")
    search_fields = ("note",)
    readonly_fields = ("uses", "created_at")

    def has_add_permission(self, request) -> bool:  # type: ignore[no-untyped-def]
        # A token is created by `dagyard nodes enroll-token`, the one place that shows it.
        return False
