"""`dagyard cancel RUN`: stop a run; its running nodes' process groups are killed."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandParser

from dags import selectors
from dags.management import invoking_user, refusals_as_command_errors
from dags.services.runs import cancel_run


class Command(BaseCommand):
    help = "Cancel a queued or running run; its running scripts are killed with their children."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("run", help="the run's id")

    def handle(self, *args, **options):
        with refusals_as_command_errors():
            run = cancel_run(run=selectors.run_by_id(options["run"]), by=invoking_user())
        self.stdout.write(f"run {run.pk} {run.state}")
