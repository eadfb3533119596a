"""`dagyard logs RUN [NODE]`: the run's event log, or one node's attempts with their output."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandParser

from dags import cli_render, documents, selectors
from dags.management import refusals_as_command_errors
from dags.models import DagRun


class Command(BaseCommand):
    help = (
        "Show a run's event log (time, level, node, message), or with NODE each attempt of that "
        "node: start, end, duration, exit code and output."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("run", help="the run's id")
        parser.add_argument("node", nargs="?", help="a node of the run")
        parser.add_argument("--json", action="store_true", help="print JSON")

    def handle(self, *args, **options):
        with refusals_as_command_errors():
            run = selectors.run_by_id(options["run"])
            if options["node"]:
                self.show_attempts(run, options["node"], as_json=options["json"])
            else:
                self.show_events(run, as_json=options["json"])

    def show_events(self, run: DagRun, *, as_json: bool) -> None:
        events = selectors.run_log(run)
        if as_json:
            self.stdout.write(cli_render.json_text(documents.events_data(run, events)))
        else:
            self.stdout.write(cli_render.events_text(events))

    def show_attempts(self, run: DagRun, node_id: str, *, as_json: bool) -> None:
        node_run = selectors.node_run_of(run, node_id)
        attempts = list(selectors.node_attempts(node_run))
        if as_json:
            self.stdout.write(
                cli_render.json_text(documents.node_attempts_data(node_run, attempts))
            )
        else:
            self.stdout.write(cli_render.node_attempts_text(node_run, attempts))
