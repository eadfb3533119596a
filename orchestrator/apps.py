from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps


class OrchestratorConfig(AppConfig):
    name = "orchestrator"
    verbose_name = "Dagyard"

    def ready(self) -> None:
        from orchestrator import api_schema  # noqa: F401 - registers the schema extension


class DagyardAdminConfig(admin_apps.AdminConfig):
    """django.contrib.admin with Dagyard's site, which lets in whom the roles say.

    Named in INSTALLED_APPS in place of 'django.contrib.admin'. `default = False`, and the module
    (not the class) imported above, keep "orchestrator" resolving to OrchestratorConfig.
    """

    default = False
    default_site = "orchestrator.admin_site.DagyardAdminSite"
