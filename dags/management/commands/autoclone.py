"""`dagyard autoclone status|tick`: every AutoClone parent's state and clones, or one manager
tick as if at a given time, so a schedule can be rehearsed."""

from __future__ import annotations

from datetime import datetime

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from dags import cli_render
from dags.management import refusals_as_command_errors
from dags.services import autoclone

BAD_MOMENT = "--at must be written 'YYYY-MM-DD HH:MM' or 'YYYY-MM-DD HH:MM:SS', got {value!r}"
NOTHING_TO_DO = "nothing to do"
NO_PARENTS = "no DAG has an autoclone section"


def local_moment(text: str) -> datetime:
    """A wall-clock time in the configured time zone."""
    for layout in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M"):
        try:
            naive = datetime.strptime(text.strip(), layout)  # noqa: DTZ007 - made aware below
        except ValueError:
            continue
        return timezone.make_aware(naive, timezone.get_current_timezone())
    raise CommandError(BAD_MOMENT.format(value=text))


class Command(BaseCommand):
    help = "Show every AutoClone parent's state and clones, or run one manager tick."

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True, metavar="status|tick")
        status = actions.add_parser("status", help="every AutoClone parent: state and clones")
        status.add_argument("--json", action="store_true", help="print JSON")
        tick = actions.add_parser("tick", help="run one manager tick now, or as if at --at")
        tick.add_argument(
            "--at", help="'YYYY-MM-DD HH:MM[:SS]' in the configured time zone (default: now)"
        )

    def handle(self, *args, **options):
        with refusals_as_command_errors():
            getattr(self, f"handle_{options['action']}")(options)

    def handle_status(self, options: dict) -> None:
        found = autoclone.summaries()
        if options["json"]:
            self.stdout.write(cli_render.json_text([summary.to_data() for summary in found]))
            return
        if not found:
            self.stdout.write(NO_PARENTS)
            return
        for summary in found:
            if summary.enabled:
                window = f"{summary.ramp_up_time}-{summary.ramp_down_time} x{summary.ramp_count}"
                self.stdout.write(f"{summary.dag}: {summary.status} (enabled, {window})")
            else:
                self.stdout.write(f"{summary.dag}: {summary.status} (disabled: {summary.reason})")
            for name in summary.clones:
                self.stdout.write(f"  ↳ {name}")

    def handle_tick(self, options: dict) -> None:
        now = local_moment(options["at"]) if options["at"] else timezone.now()
        report = autoclone.tick(now)
        self.stdout.write("\n".join(report.lines) if report.lines else NOTHING_TO_DO)
