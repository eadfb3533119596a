"""The Dagyard Django project: settings, URLs, the Celery app and the `dagyard up` launcher."""

from orchestrator.celery import app as celery_app

__all__ = ["celery_app"]
