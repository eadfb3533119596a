from django.contrib import admin

from orchestrator.models import ApiToken


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Tokens are created with `dagyard tokens create`; here they can be seen and revoked."""

    list_display = ["name", "user", "key_id", "created_at", "last_used_at"]
    search_fields = ["name", "user__username", "key_id"]
    readonly_fields = ["user", "name", "key_id", "created_at", "last_used_at"]
    exclude = ["secret_hash"]

    def has_add_permission(self, request) -> bool:
        return False
