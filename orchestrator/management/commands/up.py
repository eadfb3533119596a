"""`dagyard up`: start the whole system on this machine."""

from __future__ import annotations

import os
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from orchestrator.environment import ConfigError
from orchestrator.launcher.embedded_redis import BUNDLED, EmbeddedRedisError
from orchestrator.launcher.up import LaunchError, UpOptions, run_up


class Command(BaseCommand):
    help = "Start Dagyard: Redis (embedded unless REDIS_URL is set), worker(s), beat and web."
    requires_system_checks: list[str] = []

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=8000, help="web port (default 8000)")
        parser.add_argument("--host", default="127.0.0.1", help="web address (default 127.0.0.1)")
        parser.add_argument(
            "--data-dir",
            type=Path,
            help="data directory (default: DAGYARD_DATA_DIR, else ~/.local/share/dagyard)",
        )
        parser.add_argument("--no-web", action="store_true", help="do not start the web server")
        parser.add_argument("--no-beat", action="store_true", help="do not start celery beat")
        parser.add_argument("--workers", type=int, default=1, help="worker processes (default 1)")
        parser.add_argument(
            "--concurrency",
            type=int,
            default=min(4, os.cpu_count() or 1),
            help="task slots per worker (default: CPU count, at most 4)",
        )
        parser.add_argument(
            "--redis-server",
            default=BUNDLED,
            help="redis-server to embed: 'bundled' (default), or a name on PATH or a path",
        )
        parser.add_argument(
            "--queues",
            default="",
            help="more queues for the workers, comma-separated (for nodes with a `queue`)",
        )
        parser.add_argument(
            "--stop-timeout",
            type=float,
            default=20.0,
            help="seconds each process gets to stop before it is killed (default 20)",
        )

    def say(self, text: str) -> None:
        self.stdout.write(text)
        self.stdout.flush()

    def handle(self, *args, **options):
        if options["workers"] < 0 or options["concurrency"] < 1:
            raise CommandError("--workers must be 0 or more and --concurrency 1 or more")
        data_dir = (options["data_dir"] or settings.DATA_DIR).expanduser().resolve()
        if options["data_dir"] and data_dir != settings.DATA_DIR.resolve():
            raise CommandError(
                "--data-dir must be given before settings load; use `dagyard up --data-dir` "
                "(the dagyard command applies it) or set DAGYARD_DATA_DIR"
            )
        up = UpOptions(
            data_dir=data_dir,
            host=options["host"],
            port=options["port"],
            web=not options["no_web"],
            beat=not options["no_beat"],
            workers=options["workers"],
            concurrency=options["concurrency"],
            redis_server=options["redis_server"],
            stop_timeout=options["stop_timeout"],
            extra_queues=tuple(q.strip() for q in options["queues"].split(",") if q.strip()),
        )
        try:
            code = run_up(up, say=self.say)
        except (LaunchError, ConfigError, EmbeddedRedisError) as error:
            raise CommandError(str(error)) from None
        if code:
            raise SystemExit(code)
