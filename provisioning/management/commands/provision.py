"""`dagyard provision --repo URL [--name N] [--node-type T] [--duration-hours H] [--dry-run]
[--wait]`: plan (and, with cloud credentials, make) a server for a git repository."""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand, CommandParser

from provisioning import render, selectors
from provisioning.management import invoking_user, refusals_as_command_errors
from provisioning.models import Deployment
from provisioning.services.deployments import create_deployment
from provisioning.states import DEPLOYMENT_FINISHED, DeploymentState

POLL_SECONDS = 0.5
CLEAR_TO_END = "\x1b[K"


class Command(BaseCommand):
    help = (
        "Provision a server for a git repository: analyse it, choose image, node type and lease, "
        "then reserve, launch and connect. A dry run (the default without cloud credentials) "
        "only plans."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--repo", required=True, help="the git repository's URL")
        parser.add_argument("--name", help="the deployment's name (default: from the URL)")
        parser.add_argument("--node-type", help="the node type to reserve (default: chosen)")
        parser.add_argument(
            "--duration-hours", help="the lease length, 1-168 hours (default: chosen, 24)"
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="plan only: no cloud resource is made"
        )
        parser.add_argument("--wait", action="store_true", help="follow the steps until done")

    def handle(self, *args, **options):
        with refusals_as_command_errors():
            deployment = create_deployment(
                repo_url=options["repo"],
                name=options["name"],
                node_type=options["node_type"],
                duration_hours=options["duration_hours"],
                dry_run=True if options["dry_run"] else None,
                created_by=invoking_user(),
            )
        kind = "dry run" if deployment.dry_run else "deployment"
        self.stdout.write(f"{kind} {deployment.name} started")
        if not options["wait"]:
            self.stdout.write(f"follow it with `dagyard deployments show {deployment.name}`")
            return
        deployment = self.follow(deployment)
        if deployment.state == DeploymentState.PLANNED:
            self.stdout.write(f"plan\n{render.indented(render.plan_text(deployment.plan))}")
        self.stdout.write(render.outcome_line(deployment))
        if deployment.state not in (DeploymentState.SUCCEEDED, DeploymentState.PLANNED):
            raise SystemExit(1)

    def follow(self, deployment: Deployment) -> Deployment:
        """On a terminal the step list is redrawn in place; otherwise each change is a line."""
        in_place = self.stdout.isatty()
        shown: dict[str, str] = {}
        drawn = 0
        try:
            while True:
                deployment.refresh_from_db()
                steps = selectors.steps_of(deployment)
                lines = [render.step_line(row) for row in steps]
                if in_place:
                    if drawn:
                        self.stdout.write(f"\x1b[{drawn}F", ending="")
                    for line in lines:
                        self.stdout.write(f"{line}{CLEAR_TO_END}")
                    drawn = len(lines)
                else:
                    for row, line in zip(steps, lines, strict=True):
                        if shown.get(row.step) != line and row.state != "pending":
                            self.stdout.write(line)
                            shown[row.step] = line
                self.stdout.flush()
                if deployment.state in DEPLOYMENT_FINISHED:
                    return deployment
                time.sleep(POLL_SECONDS)
        except KeyboardInterrupt:
            self.stdout.write(
                f"\nstopped following {deployment.name}; it goes on "
                f"(`dagyard deprovision {deployment.name}` stops it)"
            )
            raise SystemExit(130) from None
