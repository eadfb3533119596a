"""`dagyard doctor`: is everything Dagyard needs there and answering?"""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand

from orchestrator.doctor import DoctorReport, examine


def mark(ok: bool) -> str:
    return "ok  " if ok else "FAIL"


def render(report: DoctorReport) -> str:
    lines = [f"data dir   {report.data_dir}"]
    db = report.database
    lines.append(f"database   {mark(db.ok)} {db.target} - {db.detail}")
    if report.unapplied_migrations:
        lines.append(
            f"           FAIL {report.unapplied_migrations} migration(s) not applied "
            "(run `dagyard migrate` or `dagyard up`)"
        )
    redis = report.redis
    lines.append(
        f"broker     {mark(redis.ok)} {redis.target} [{report.broker_source}] - {redis.detail}"
    )
    if redis.ok:
        if report.workers:
            for name, queues in sorted(report.workers.items()):
                active = report.active_tasks.get(name, 0)
                lines.append(f"worker     ok   {name} queues={','.join(queues)} active={active}")
        else:
            lines.append(
                "worker     FAIL no worker answered (is `dagyard up` or a worker running?)"
            )
        lines.append(f"round trip {mark(report.probe_ok)} {report.probe}")
    lines.append("all good" if report.ok else "problems found")
    return "\n".join(lines)


class Command(BaseCommand):
    help = "Check the database, the broker, the workers and a task round trip."
    requires_system_checks: list[str] = []

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true", help="print the report as JSON")

    def handle(self, *args, **options):
        report = examine()
        if options["json"]:
            self.stdout.write(json.dumps(report.as_dict(), indent=2))
        else:
            self.stdout.write(render(report))
        if not report.ok:
            raise SystemExit(1)
