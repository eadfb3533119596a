"""The Celery application. Configuration comes from Django settings (the CELERY_* names)."""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "orchestrator.settings")

app = Celery("dagyard")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
