"""`dagyard runs list|show`: recent runs, and one run node by node."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandParser

from dags import cli_render, documents, selectors
from dags.management import refusals_as_command_errors
from dags.states import RunState


def positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise ValueError(text)
    return value


class Command(BaseCommand):
    help = "List runs, newest first, or show one run with each node's state and timings."

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True, metavar="list|show")
        listing = actions.add_parser("list", help="the newest runs")
        listing.add_argument("--dag", help="only this DAG's runs")
        listing.add_argument(
            "--state", choices=[state.value for state in RunState], help="only runs in this state"
        )
        listing.add_argument(
            "--limit", type=positive_int, default=50, help="at most this many (default 50)"
        )
        listing.add_argument("--json", action="store_true", help="print JSON")
        show = actions.add_parser("show", help="one run: its nodes, their attempts and timings")
        show.add_argument("run", help="the run's id")
        show.add_argument("--json", action="store_true", help="print JSON")

    def handle(self, *args, **options):
        with refusals_as_command_errors():
            getattr(self, f"handle_{options['action']}")(options)

    def handle_list(self, options: dict) -> None:
        dag = selectors.dag_by_name(options["dag"]) if options["dag"] else None
        found = list(selectors.runs(dag=dag, state=options["state"], limit=options["limit"]))
        if options["json"]:
            self.stdout.write(cli_render.json_text([documents.listed_run_data(r) for r in found]))
        else:
            self.stdout.write(cli_render.runs_text(found))

    def handle_show(self, options: dict) -> None:
        run = selectors.run_by_id(options["run"])
        node_runs = list(selectors.node_runs_of(run))
        if options["json"]:
            self.stdout.write(cli_render.json_text(documents.run_detail_data(run, node_runs)))
        else:
            self.stdout.write(cli_render.run_detail_text(run, node_runs))
