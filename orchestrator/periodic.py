"""Every periodic task Dagyard runs, declared in one place and written idempotently.

Each app lists its own in `<app>/periodic.py` as `PERIODIC_TASKS`. `ensure_periodic_tasks()`
creates missing rows and corrects a task's name, interval and arguments, but never touches
`enabled`: a task a user switched off in the admin stays off across restarts and syncs.
"""

from __future__ import annotations

import importlib
import json
from dataclasses import dataclass

from django.db import transaction
from django_celery_beat.models import IntervalSchedule, PeriodicTask

APPS_WITH_PERIODIC_TASKS = ("dags", "autoscaler", "provisioning")


@dataclass(frozen=True)
class Periodic:
    name: str
    task: str
    every_seconds: int
    args: tuple = ()
    queue: str | None = None


def declared() -> list[Periodic]:
    found: list[Periodic] = []
    for app in APPS_WITH_PERIODIC_TASKS:
        try:
            module = importlib.import_module(f"{app}.periodic")
        except ModuleNotFoundError as error:
            if error.name != f"{app}.periodic":
                raise
            continue
        found.extend(module.PERIODIC_TASKS)
    return found


@transaction.atomic
def ensure_periodic_tasks() -> list[str]:
    """Create or correct the declared periodic tasks; returns the names it changed."""
    changed: list[str] = []
    for item in declared():
        interval, _ = IntervalSchedule.objects.get_or_create(
            every=item.every_seconds, period=IntervalSchedule.SECONDS
        )
        wanted = {"task": item.task, "interval": interval, "crontab": None,
                  "args": json.dumps(list(item.args)), "queue": item.queue}  # fmt: skip
        task, created = PeriodicTask.objects.get_or_create(name=item.name, defaults=wanted)
        if created:
            changed.append(item.name)
            continue
        if any(getattr(task, key) != value for key, value in wanted.items()):
            for key, value in wanted.items():
                setattr(task, key, value)
            task.save()
            changed.append(item.name)
    return changed
