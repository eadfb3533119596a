"""`dagyard nodes enroll-token|list`: let an agent register, and see the agents."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from autoscaler import selectors
from autoscaler.management import refusals_as_command_errors
from autoscaler.services import nodes


class Command(BaseCommand):
    help = "Create an enrollment token for an agent, or list the registered agents."

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(
            dest="action", required=True, metavar="enroll-token|list|set-config"
        )
        token = actions.add_parser(
            "enroll-token", help="a token an agent registers with (shown once)"
        )
        token.add_argument("--note", default="", help="what the token is for")
        token.add_argument("--uses", type=int, default=1, help="how many agents may use it")
        token.add_argument(
            "--hours", type=float, default=24.0, help="hours until it expires (0: never)"
        )
        listing = actions.add_parser("list", help="every agent with its liveness")
        listing.add_argument("--json", action="store_true", help="print JSON")
        config = actions.add_parser(
            "set-config", help="give a node a config.yaml; its next heartbeat fetches it"
        )
        config.add_argument("node", help="the node's id")
        config.add_argument("file", type=Path, help="a config.yaml with a 'pools:' list")

    def handle(self, *args: Any, **options: Any) -> None:
        with refusals_as_command_errors():
            handler = {
                "enroll-token": self.handle_enroll_token,
                "list": self.handle_list,
                "set-config": self.handle_set_config,
            }[options["action"]]
            handler(options)

    def handle_enroll_token(self, options: dict[str, Any]) -> None:
        lifetime = dt.timedelta(hours=options["hours"]) if options["hours"] > 0 else None
        row, token = nodes.create_enrollment_token(
            now=timezone.now(), note=options["note"], max_uses=max(1, options["uses"]),
            lifetime=lifetime,
        )  # fmt: skip
        expiry = row.expires_at.isoformat(timespec="seconds") if row.expires_at else "never"
        self.stdout.write(token)
        self.stderr.write(
            f"enrollment token {row.pk}: {row.max_uses} use(s), expires {expiry}. It is shown "
            "only now; set it as DAGYARD_ENROLL_TOKEN on the agent."
        )

    def handle_set_config(self, options: dict[str, Any]) -> None:
        path: Path = options["file"]
        try:
            text = path.read_text()
        except OSError as error:
            raise CommandError(f"cannot read {path}: {error.strerror}") from error
        node = nodes.set_node_config(
            nodes.get_node(options["node"]), yaml_config=text, now=timezone.now()
        )
        self.stdout.write(
            f"node {node.pk} ({node.name}): config {node.config_hash[:12]} with "
            f"{len(node.config['pools'])} pool(s); sent at its next heartbeat"
        )

    def handle_list(self, options: dict[str, Any]) -> None:
        rows = selectors.node_rows(now=timezone.now())
        data = [
            {
                "id": row.node.pk,
                "name": row.node.name,
                "liveness": row.liveness.value,
                "status": row.node.status,
                "last_heartbeat_at": (
                    row.node.last_heartbeat_at.isoformat() if row.node.last_heartbeat_at else None
                ),
                "config_hash": row.node.config_hash,
                "config_in_sync": row.node.config_in_sync,
            }
            for row in rows
        ]
        if options["json"]:
            self.stdout.write(json.dumps(data, indent=2))
            return
        if not data:
            self.stdout.write("no agents registered (create a token: dagyard nodes enroll-token)")
            return
        for item in data:
            self.stdout.write(
                f"{item['id']:>4}  {item['name']:<24} {item['liveness']:<10} "
                f"{item['status'] or '-':<9} last heartbeat {item['last_heartbeat_at'] or 'never'}"
            )
