"""`dagyard retry RUN`: run a failed or cancelled run's unsuccessful nodes again."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandParser

from dags import selectors
from dags.management import invoking_user, refusals_as_command_errors
from dags.services.runs import retry_run


class Command(BaseCommand):
    help = (
        "Retry a failed or cancelled run: its unsuccessful nodes and what depends on them run "
        "again; nodes that succeeded keep their results."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("run", help="the run's id")

    def handle(self, *args, **options):
        with refusals_as_command_errors():
            run = retry_run(run=selectors.run_by_id(options["run"]), by=invoking_user())
        self.stdout.write(f"run {run.pk} {run.state}")
