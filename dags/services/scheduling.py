"""Cron schedules as django-celery-beat periodic tasks, and the runs they trigger.

Each scheduled DAG owns one PeriodicTask, found by name and updated in place, so an edit moves
the schedule and a user's enable/disable toggle in the admin survives a sync. The run a tick
starts carries the cron time it is for; the database refuses a second run for the same time, so
two beat processes started by mistake still give one run per tick.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta

from croniter import croniter
from django.conf import settings
from django.utils import timezone
from django_celery_beat.models import CrontabSchedule, PeriodicTask

from dags.errors import RunRefused
from dags.models import Dag, DagRun

SCHEDULE_TASK = "dags.trigger_scheduled"
SHORTHANDS = {
    "@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *", "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0", "@daily": "0 0 * * *", "@midnight": "0 0 * * *", "@hourly": "0 * * * *",
}  # fmt: skip


def periodic_task_name(dag: Dag) -> str:
    return f"dagyard: schedule of DAG {dag.name}"


def cron_fields(expression: str) -> list[str]:
    return SHORTHANDS.get(expression.strip(), expression).split()


def sync_schedule(dag: Dag) -> PeriodicTask | None:
    """Create, move or remove the DAG's periodic task to match its schedule."""
    name = periodic_task_name(dag)
    if not dag.schedule:
        PeriodicTask.objects.filter(name=name).delete()
        return None
    minute, hour, day_of_month, month_of_year, day_of_week = cron_fields(dag.schedule)
    crontab, _ = CrontabSchedule.objects.get_or_create(
        minute=minute,
        hour=hour,
        day_of_month=day_of_month,
        month_of_year=month_of_year,
        day_of_week=day_of_week,
        timezone=settings.TIME_ZONE,
    )
    task, created = PeriodicTask.objects.get_or_create(
        name=name,
        defaults={"task": SCHEDULE_TASK, "crontab": crontab, "args": json.dumps([dag.pk])},
    )
    if not created and (task.crontab_id != crontab.pk or task.args != json.dumps([dag.pk])):
        task.crontab = crontab
        task.interval = None
        task.args = json.dumps([dag.pk])
        task.save()
    return task


def scheduled_time(expression: str, now: datetime) -> datetime:
    """The cron time a tick at `now` is for: the latest fire time not after `now` (beat may
    deliver a tick a little late, never early)."""
    local = timezone.localtime(now)
    base = local + timedelta(seconds=1)
    return croniter(" ".join(cron_fields(expression)), base).get_prev(datetime)


def next_scheduled_time(dag: Dag, now: datetime | None = None) -> datetime | None:
    if not dag.schedule or dag.is_paused:
        return None
    local = timezone.localtime(now or timezone.now())
    return croniter(" ".join(cron_fields(dag.schedule)), local).get_next(datetime)


def trigger_scheduled(*, dag_id: int, now: datetime | None = None) -> DagRun | None:
    """Start the run for the current tick, unless it exists or the DAG is paused or full."""
    dag = Dag.objects.filter(pk=dag_id).first()
    if dag is None or not dag.schedule or dag.is_paused:
        return None
    from dags.services.runs import record_event, start_run

    when = scheduled_time(dag.schedule, now or timezone.now())
    try:
        return start_run(
            dag=dag, trigger=DagRun.Trigger.SCHEDULE, triggered_by="schedule", scheduled_for=when
        )
    except RunRefused as refusal:
        last = DagRun.objects.filter(dag=dag).order_by("-created_at").first()
        if last is not None and last.scheduled_for != when:
            record_event(last.pk, f"Scheduled run for {when.isoformat()} skipped: {refusal}")
        return None
