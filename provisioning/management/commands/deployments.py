"""`dagyard deployments list|show NAME [--json]`."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandParser

from provisioning import render, selectors
from provisioning.management import refusals_as_command_errors


class Command(BaseCommand):
    help = "List deployments, newest first, or show one: its plan, ids, steps and SSH command."

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True, metavar="list|show")
        listing = actions.add_parser("list", help="the newest deployments")
        listing.add_argument("--json", action="store_true", help="print JSON")
        show = actions.add_parser("show", help="one deployment in full")
        show.add_argument("name", help="the deployment's name")
        show.add_argument("--json", action="store_true", help="print JSON")

    def handle(self, *args, **options):
        with refusals_as_command_errors():
            if options["action"] == "list":
                found = list(selectors.deployments())
                if options["json"]:
                    self.stdout.write(render.json_text([render.summary_data(d) for d in found]))
                else:
                    self.stdout.write(render.list_text(found))
                return
            deployment = selectors.deployment_by_name(options["name"])
            steps = selectors.steps_of(deployment)
            if options["json"]:
                self.stdout.write(render.json_text(render.detail_data(deployment, steps)))
            else:
                self.stdout.write(render.detail_text(deployment, steps))
