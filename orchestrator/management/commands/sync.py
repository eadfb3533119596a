"""`dagyard sync`: load the workflow folder into the database and declare periodic tasks."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand

from dags.services.definitions import sync_folder
from orchestrator.periodic import ensure_periodic_tasks


class Command(BaseCommand):
    help = "Load DAG definitions from the workflow folder (DAGYARD_DAGS_DIR) into the database."

    def add_arguments(self, parser):
        parser.add_argument(
            "folder", nargs="?", type=Path, help="folder to load (default: DAGYARD_DAGS_DIR)"
        )

    def handle(self, *args, **options):
        ensure_periodic_tasks()
        folder = (options["folder"] or settings.DAGYARD_DAGS_DIR).resolve()
        report = sync_folder(folder)
        for name in report.saved:
            self.stdout.write(f"saved      {name}")
        for name in report.unchanged:
            self.stdout.write(f"unchanged  {name}")
        for error in report.errors:
            self.stderr.write(error)
        self.stdout.write(
            f"{folder}: {len(report.saved)} saved, {len(report.unchanged)} unchanged, "
            f"{len(report.errors)} with errors"
        )
        if report.errors:
            raise SystemExit(1)
