"""`dagyard pools import|export|list|evaluate`: load config.yaml, see pools, try a decision."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from autoscaler import selectors
from autoscaler.management import refusals_as_command_errors
from autoscaler.models import PoolEvaluation
from autoscaler.services import pools


class Command(BaseCommand):
    help = "Import pools from a config.yaml, export or list them, or evaluate one now."

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(
            dest="action", required=True, metavar="import|export|list|evaluate"
        )
        importing = actions.add_parser(
            "import", help="create or update the pools of a config.yaml (all or nothing)"
        )
        importing.add_argument("file", type=Path, help="a config.yaml with a 'pools:' list")
        actions.add_parser("export", help="print every pool as a config.yaml")
        listing = actions.add_parser("list", help="every pool with its latest evaluation")
        listing.add_argument("--json", action="store_true", help="print JSON")
        evaluate = actions.add_parser(
            "evaluate", help="evaluate one pool now and print the decision"
        )
        evaluate.add_argument("pool", help="the pool's name or instance pool id")
        evaluate.add_argument(
            "--dry-run", action="store_true", help="decide only: resize nothing, record nothing"
        )
        evaluate.add_argument("--json", action="store_true", help="print JSON")

    def handle(self, *args: Any, **options: Any) -> None:
        with refusals_as_command_errors():
            getattr(self, f"handle_{options['action']}")(options)

    def handle_import(self, options: dict[str, Any]) -> None:
        path: Path = options["file"]
        try:
            text = path.read_text()
        except OSError as error:
            raise CommandError(f"cannot read {path}: {error.strerror}") from error
        report = pools.import_pools(text)
        for word, names in (("created", report.created), ("updated", report.updated),
                            ("unchanged", report.unchanged)):  # fmt: skip
            for name in names:
                self.stdout.write(f"{word}: {name}")
        self.stdout.write(
            f"{len(report.created)} created, {len(report.updated)} updated, "
            f"{len(report.unchanged)} unchanged"
        )

    def handle_export(self, options: dict[str, Any]) -> None:
        self.stdout.write(pools.export_pools(), ending="")

    def handle_list(self, options: dict[str, Any]) -> None:
        summaries = selectors.pool_summaries()
        if options["json"]:
            rows = [
                {
                    "name": s.pool.name,
                    "provider": s.pool.provider,
                    "instance_pool_id": s.pool.instance_pool_id,
                    "region": s.pool.region,
                    "monitoring_method": s.pool.monitoring_method,
                    "min": s.pool.min_size,
                    "max": s.pool.max_size,
                    "paused": s.pool.paused,
                    "latest": _evaluation_data(s.latest) if s.latest else None,
                }
                for s in summaries
            ]
            self.stdout.write(json.dumps(rows, indent=2))
            return
        if not summaries:
            self.stdout.write("no pools (import a config.yaml with `dagyard pools import FILE`)")
            return
        header = ("POOL", "PROVIDER", "METRICS", "MIN", "MAX", "SIZE", "LAST OUTCOME")
        table = [header] + [
            (
                s.pool.name + (" (paused)" if s.pool.paused else ""),
                s.pool.provider,
                s.pool.monitoring_method,
                str(s.pool.min_size),
                str(s.pool.max_size),
                "-" if s.size is None else str(s.size),
                s.latest.outcome if s.latest else "not evaluated",
            )
            for s in summaries
        ]
        widths = [max(len(row[i]) for row in table) for i in range(len(header))]
        for row in table:
            self.stdout.write(
                "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
            )

    def handle_evaluate(self, options: dict[str, Any]) -> None:
        pool = pools.find_pool(options["pool"])
        evaluation = pools.evaluate_pool(pool, now=timezone.now(), dry_run=options["dry_run"])
        if options["json"]:
            self.stdout.write(json.dumps(_evaluation_data(evaluation), indent=2))
            return
        prefix = "dry run: " if options["dry_run"] else ""
        size = f"{_count(evaluation.size_before)} -> {_count(evaluation.size_after)}"
        self.stdout.write(f"{prefix}{pool.name}: {evaluation.outcome} ({size})")
        self.stdout.write(evaluation.reason)


def _count(value: int | None) -> str:
    return "?" if value is None else str(value)


def _evaluation_data(evaluation: PoolEvaluation) -> dict[str, Any]:
    return {
        "at": evaluation.at.isoformat(),
        "source": evaluation.source,
        "outcome": evaluation.outcome,
        "size_before": evaluation.size_before,
        "size_after": evaluation.size_after,
        "cpu": evaluation.cpu,
        "ram": evaluation.ram,
        "reason": evaluation.reason,
        "error": evaluation.error,
        "recorded": evaluation.pk is not None,
    }
