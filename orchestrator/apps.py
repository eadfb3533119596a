from django.apps import AppConfig


class OrchestratorConfig(AppConfig):
    name = "orchestrator"
    verbose_name = "Dagyard"

    def ready(self) -> None:
        from orchestrator import api_schema  # noqa: F401 - registers the schema extension
