"""`dagyard deprovision NAME`: delete the server, release the floating IP, delete the lease."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandParser

from provisioning.management import refusals_as_command_errors
from provisioning.services.deprovision import deprovision


class Command(BaseCommand):
    help = (
        "Remove what a deployment made in the cloud (server, floating IP, lease: whatever "
        "exists, in that order). Safe to run again."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name", help="the deployment's name")

    def handle(self, *args, **options):
        with refusals_as_command_errors():
            report = deprovision(name=options["name"])
        self.stdout.write(f"deployment {report.deployment.name} deprovisioned: {report.summary}")
