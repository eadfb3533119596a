"""`dagyard dags list|show|validate`: what DAGs there are, one DAG in full, a file checked."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandParser

from dags import cli_render, documents, selectors
from dags.engine.validation import validate_file
from dags.management import refusals_as_command_errors
from dags.services.definitions import default_name_for


class Command(BaseCommand):
    help = "List the DAGs, show one, or validate a definition file without saving it."

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True, metavar="list|show|validate")
        listing = actions.add_parser("list", help="every DAG with its last and next run")
        listing.add_argument("--json", action="store_true", help="print JSON")
        show = actions.add_parser("show", help="one DAG: settings, nodes and recent runs")
        show.add_argument("name", help="the DAG's name")
        show.add_argument("--json", action="store_true", help="print JSON")
        validate = actions.add_parser(
            "validate", help="check a definition file; touches no database rows"
        )
        validate.add_argument("file", type=Path, help="a .yaml, .yml or .json definition")

    def handle(self, *args, **options):
        with refusals_as_command_errors():
            getattr(self, f"handle_{options['action']}")(options)

    def handle_list(self, options: dict) -> None:
        summaries = selectors.dag_summaries()
        if options["json"]:
            self.stdout.write(
                cli_render.json_text([documents.dag_summary_data(s) for s in summaries])
            )
        else:
            self.stdout.write(cli_render.dag_summaries_text(summaries))

    def handle_show(self, options: dict) -> None:
        detail = selectors.dag_detail(options["name"])
        if options["json"]:
            self.stdout.write(cli_render.json_text(documents.dag_detail_data(detail)))
        else:
            self.stdout.write(cli_render.dag_detail_text(detail))

    def handle_validate(self, options: dict) -> None:
        definition, _graph = validate_file(
            options["file"], default_name=default_name_for(options["file"])
        )
        self.stdout.write(f"ok: {definition.name} ({len(definition.nodes)} nodes)")
