"""The admin: DAGs edited through the same validation and service as the loader; runs read-only."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import Count, Q
from django.http import HttpRequest

from dags.errors import DagError
from dags.forms import DagDefinitionForm
from dags.models import Dag, DagRun, NodeAttempt, NodeRun, RunEvent
from dags.services.clones import AUTO_CLONE_MANAGED, auto_clone_link, clone_dag
from dags.services.definitions import save_definition
from dags.services.runs import cancel_run, retry_run, start_run
from dags.states import RUN_ACTIVE
from orchestrator.roles import Action, allowed


@admin.register(Dag)
class DagAdmin(admin.ModelAdmin):
    form = DagDefinitionForm
    list_display = ["name", "schedule", "is_paused", "max_active_runs", "active_runs", "updated_at"]
    list_filter = ["is_paused"]
    search_fields = ["name", "description", "source_path"]
    readonly_fields = ["name", "description", "labels", "schedule", "max_active_runs",
                       "source_path", "definition_hash", "created_at", "updated_at"]  # fmt: skip
    fields = ["name", "description", "labels", "schedule", "max_active_runs", "folder",
              "is_paused", "definition_text", "source_path", "definition_hash",
              "created_at", "updated_at"]  # fmt: skip
    actions = ["trigger_runs", "clone_dags"]

    def get_queryset(self, request: HttpRequest):
        return (
            super()
            .get_queryset(request)
            .annotate(active_count=Count("runs", filter=Q(runs__state__in=RUN_ACTIVE)))
        )

    @admin.display(description="active runs", ordering="active_count")
    def active_runs(self, dag: Dag) -> int:
        return dag.active_count

    def auto_clone_refusal(self, obj: Dag | None, action: str) -> str | None:
        """The message for a hand change to a clone AutoClone manages, else None."""
        link = auto_clone_link(obj) if obj is not None and obj.pk else None
        if link is None:
            return None
        parent = link.parent.name if link.parent else "a deleted DAG"
        return AUTO_CLONE_MANAGED.format(name=obj.name, parent=parent, action=action)

    def has_change_permission(self, request: HttpRequest, obj: Dag | None = None) -> bool:
        if self.auto_clone_refusal(obj, "edited"):
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Dag | None = None) -> bool:
        if self.auto_clone_refusal(obj, "deleted"):
            return False
        return super().has_delete_permission(request, obj)

    def change_view(self, request: HttpRequest, object_id, form_url="", extra_context=None):
        dag = Dag.objects.filter(pk=object_id).first() if str(object_id).isdigit() else None
        refusal = self.auto_clone_refusal(dag, "edited, stopped or deleted")
        if refusal:
            self.message_user(request, refusal, messages.WARNING)
        return super().change_view(request, object_id, form_url, extra_context)

    def get_deleted_objects(self, objs, request: HttpRequest):
        """The delete confirmation refuses auto clones; say why in AutoClone's words."""
        for dag in objs:
            refusal = self.auto_clone_refusal(dag, "deleted")
            if refusal:
                self.message_user(request, refusal, messages.ERROR)
        return super().get_deleted_objects(objs, request)

    def delete_queryset(self, request: HttpRequest, queryset) -> None:
        managed = queryset.filter(clone_link__is_auto_clone=True)
        for dag in managed:
            self.message_user(request, self.auto_clone_refusal(dag, "deleted"), messages.ERROR)
        super().delete_queryset(request, queryset.exclude(pk__in=managed.values("pk")))

    def has_clone_permission(self, request: HttpRequest) -> bool:
        """The same role check as the pages' Clone button (operators and admins)."""
        return allowed(request.user, Action.CLONE)

    @admin.action(
        description="Clone the selected DAGs (ordinary clones you own)", permissions=["clone"]
    )
    def clone_dags(self, request: HttpRequest, queryset) -> None:
        for dag in queryset:
            try:
                clone = clone_dag(dag=dag, by=request.user.get_username())
            except DagError as error:
                self.message_user(request, str(error), messages.ERROR)
            else:
                self.message_user(request, f"Cloned {dag.name} as {clone.name}")

    def save_model(self, request, obj: Dag, form: DagDefinitionForm, change: bool) -> None:
        dag, _ = save_definition(form.definition, source_path=obj.source_path or "admin")
        if dag.is_paused != form.cleaned_data["is_paused"]:
            Dag.objects.filter(pk=dag.pk).update(is_paused=form.cleaned_data["is_paused"])
        obj.pk = dag.pk
        obj.refresh_from_db()

    def has_trigger_permission(self, request: HttpRequest) -> bool:
        """The pages' role check, not a model permission: a staff account given permission rows
        by hand, but no role, may not start runs here either."""
        return allowed(request.user, Action.TRIGGER)

    @admin.action(description="Trigger a run of the selected DAGs", permissions=["trigger"])
    def trigger_runs(self, request: HttpRequest, queryset) -> None:
        for dag in queryset:
            try:
                run = start_run(dag=dag, triggered_by=request.user.get_username())
            except DagError as error:
                self.message_user(request, str(error), messages.ERROR)
            else:
                self.message_user(request, f"Started run {run.pk} of {dag.name}")


class NodeRunInline(admin.TabularInline):
    model = NodeRun
    extra = 0
    can_delete = False
    fields = ["node_id", "state", "attempts", "started_at", "finished_at", "exit_code", "error"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(DagRun)
class DagRunAdmin(admin.ModelAdmin):
    list_display = ["id", "dag", "state", "trigger", "triggered_by", "started_at", "finished_at"]
    list_filter = ["state", "trigger", "dag"]
    search_fields = ["dag__name", "triggered_by", "error"]
    date_hierarchy = "created_at"
    list_select_related = ["dag"]
    inlines = [NodeRunInline]
    actions = ["cancel_runs", "retry_runs"]

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in self.model._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False

    # Run actions ask the roles, as the pages' buttons do (see DagAdmin.has_trigger_permission).
    def has_cancel_permission(self, request: HttpRequest) -> bool:
        return allowed(request.user, Action.CANCEL)

    def has_retry_permission(self, request: HttpRequest) -> bool:
        return allowed(request.user, Action.RETRY)

    @admin.action(description="Cancel the selected runs", permissions=["cancel"])
    def cancel_runs(self, request: HttpRequest, queryset) -> None:
        self._each(request, queryset, cancel_run, "Cancelled")

    @admin.action(description="Retry the selected runs", permissions=["retry"])
    def retry_runs(self, request: HttpRequest, queryset) -> None:
        self._each(request, queryset, retry_run, "Retrying")

    def _each(self, request, queryset, service, verb: str) -> None:
        for run in queryset:
            try:
                service(run=run, by=request.user.get_username())
            except DagError as error:
                self.message_user(request, str(error), messages.ERROR)
            else:
                self.message_user(request, f"{verb} run {run.pk}")


@admin.register(NodeAttempt)
class NodeAttemptAdmin(admin.ModelAdmin):
    list_display = ["node_run", "number", "outcome", "exit_code", "started_at", "finished_at"]
    list_filter = ["outcome"]
    search_fields = ["node_run__node_id", "output"]
    list_select_related = ["node_run"]

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in self.model._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(RunEvent)
class RunEventAdmin(admin.ModelAdmin):
    list_display = ["created_at", "run", "level", "node_id", "message"]
    list_filter = ["level"]
    search_fields = ["message", "node_id"]

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in self.model._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False
