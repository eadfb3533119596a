"""`dagyard run DAG [--param K=V ...] [--wait] [--json]`: start a run, and follow it if asked."""

from __future__ import annotations

import shutil
import time

from django.core.management.base import BaseCommand, CommandError, CommandParser

from dags import cli_render, documents, selectors
from dags.management import invoking_user, refusals_as_command_errors
from dags.models import DagRun
from dags.services.runs import parse_params, start_run
from dags.states import RUN_TERMINAL, RunState
from orchestrator.health import check_redis

BROKER_DOWN = "Redis at {target} does not answer ({detail}); no run was started"

POLL_SECONDS = 0.2
CLEAR_TO_END_OF_LINE = "\x1b[K"
FOLLOWED_FIELDS = ["state", "started_at", "finished_at", "error"]
"""What following a run re-reads; never its definition, which can be large."""


class Command(BaseCommand):
    help = "Start a run of a DAG; with --wait, follow its progress and exit 1 unless it succeeds."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("dag", help="the DAG's name")
        parser.add_argument(
            "--param",
            action="append",
            default=[],
            metavar="K=V",
            help="a run parameter, given to every node as an environment variable (repeatable)",
        )
        parser.add_argument("--wait", action="store_true", help="follow the run until it finishes")
        parser.add_argument("--json", action="store_true", help="print the run as JSON")

    def handle(self, *args, **options):
        broker = check_redis()
        if not broker.ok:
            raise CommandError(BROKER_DOWN.format(target=broker.target, detail=broker.detail))
        with refusals_as_command_errors():
            dag = selectors.dag_by_name(options["dag"])
            run = start_run(
                dag=dag,
                params=parse_params(options["param"]),
                trigger=DagRun.Trigger.MANUAL,
                triggered_by=invoking_user(),
            )
        if options["wait"]:
            run = self.follow(run, show_progress=not options["json"])
        if options["json"]:
            self.write_json(run)
        elif not options["wait"]:
            self.stdout.write(str(run.pk))
        if options["wait"] and run.state != RunState.SUCCEEDED:
            raise SystemExit(1)

    def write_json(self, run: DagRun) -> None:
        node_runs = list(selectors.node_runs_of(run))
        self.stdout.write(cli_render.json_text(documents.run_detail_data(run, node_runs)))

    def follow(self, run: DagRun, *, show_progress: bool) -> DagRun:
        """Poll the run until it finishes. On a terminal the progress line is redrawn in place;
        otherwise each change is a line of its own, so a log file reads top to bottom."""
        in_place = self.stdout.isatty()
        shown = ""
        try:
            while True:
                # The state first: once it is final, the counts read after it are final too.
                run.refresh_from_db(fields=FOLLOWED_FIELDS)
                columns = shutil.get_terminal_size().columns if in_place else None
                progress = cli_render.progress_of(selectors.run_progress(run))
                line = cli_render.progress_line(run.pk, progress, columns=columns)
                if show_progress and line != shown:
                    self.show(line, in_place=in_place)
                    shown = line
                if run.state in RUN_TERMINAL:
                    break
                time.sleep(POLL_SECONDS)
        except KeyboardInterrupt:
            self.stdout.write(
                f"\nstopped following run {run.pk}; it goes on (`dagyard cancel {run.pk}` stops it)"
            )
            raise SystemExit(130) from None
        if show_progress:
            if in_place:
                self.stdout.write("")
            self.stdout.write(cli_render.outcome_line(run))
        return run

    def show(self, line: str, *, in_place: bool) -> None:
        if in_place:
            self.stdout.write(f"\r{line}{CLEAR_TO_END_OF_LINE}", ending="")
            self.stdout.flush()
        else:
            self.stdout.write(line)
