"""What `dagyard doctor` reports: the database and broker in use, whether each answers, the
workers and queues Celery sees, and a task sent through a worker and back."""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field

from django.conf import settings
from django.db import DatabaseError
from django.db.migrations.executor import MigrationExecutor

from orchestrator.health import CheckResult, check_database, check_redis

PROBE_TIMEOUT_SECONDS = 10.0


@dataclass
class DoctorReport:
    data_dir: str
    database: CheckResult
    redis: CheckResult
    broker_source: str
    unapplied_migrations: int | None = None
    workers: dict[str, list[str]] = field(default_factory=dict)
    active_tasks: dict[str, int] = field(default_factory=dict)
    probe: str = "not sent"
    probe_ok: bool = False

    @property
    def ok(self) -> bool:
        return (
            self.database.ok
            and self.redis.ok
            and not self.unapplied_migrations
            and bool(self.workers)
            and self.probe_ok
        )

    def as_dict(self) -> dict:
        return {
            "ok": self.ok,
            "data_dir": self.data_dir,
            "database": self.database.as_dict()
            | {"unapplied_migrations": self.unapplied_migrations},
            "broker": self.redis.as_dict() | {"source": self.broker_source},
            "workers": self.workers,
            "active_tasks": self.active_tasks,
            "probe": {"ok": self.probe_ok, "detail": self.probe},
        }


def count_unapplied_migrations() -> int:
    from django.db import connection

    executor = MigrationExecutor(connection)
    return len(executor.migration_plan(executor.loader.graph.leaf_nodes()))


def examine(*, probe_timeout: float = PROBE_TIMEOUT_SECONDS) -> DoctorReport:
    report = DoctorReport(
        data_dir=str(settings.DATA_DIR),
        database=check_database(),
        redis=check_redis(),
        broker_source=settings.BROKER.source,
    )
    if report.database.ok:
        try:
            report.unapplied_migrations = count_unapplied_migrations()
        except DatabaseError:
            report.unapplied_migrations = None
    if not report.redis.ok:
        return report
    from orchestrator.celery import app

    inspector = app.control.inspect(timeout=1.0)
    queues = inspector.active_queues() or {}
    active = inspector.active() or {}
    report.workers = {name: sorted(q["name"] for q in items) for name, items in queues.items()}
    report.active_tasks = {name: len(tasks) for name, tasks in active.items()}
    if report.workers:
        report.probe, report.probe_ok = send_probe(probe_timeout)
    return report


def send_probe(timeout: float) -> tuple[str, bool]:
    from orchestrator.tasks import probe

    token = secrets.token_hex(4)
    started = time.perf_counter()
    try:
        answer = probe.delay(token).get(timeout=timeout)
    except Exception as error:  # a timeout or any broker error is the finding itself
        return f"no answer within {timeout:.0f} s ({type(error).__name__})", False
    elapsed = (time.perf_counter() - started) * 1000
    if answer.get("token") != token:
        return "answered with a different token", False
    if not answer.get("database_ok"):
        return f"{answer['hostname']} could not reach its database", False
    return f"answered by {answer['hostname']} in {elapsed:.0f} ms", True
