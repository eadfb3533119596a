"""One AutoClone manager tick over 1,000 parents: nothing due, and 100 due at once.

Every parent is an AutoClone-enabled DAG (window 0900-1700, bulk-created); the figures are for
``dags.services.autoclone.tick(now)``, the whole pass beat runs every 10 seconds:

- nothing due at 08:00, before ramp-up: the tick every parent spends most of its day in;
- 100 due at 09:00: their ramp-up minute has just come (the others ramp up from 10:00), so the
  tick makes 100 clones; its extra queries divided by 100 are the queries per due DAG;
- nothing due at 12:00, every parent holding its ``ramp_count`` clones, with 1 and with 5 clones
  each: the query counts must be equal, since the tick reads all clones in one query.

The anchor, measured in the same run on the same rows and taking turns with the ticks, is reading
the parents' rows and nothing else (``list(Dag.objects.filter(definition__has_key="autoclone"))``),
the least any manager has to do; each tick is reported as a ratio to it. Times are medians of
``--ticks`` ticks; queries are counted in a tick of their own (``CaptureQueriesContext``), since
counting has a cost of its own. Each due tick starts from the same state (the clones of the
previous one deleted).

SQLite in a temporary data directory by default; with ``DATABASE_URL`` set, a throwaway database
beside the one it names, dropped afterwards.

Usage: python bench/autoclone_tick.py [--dags 1000] [--due 100] [--ticks 7] [--quick] [--json]
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench._django import database_from_environment  # noqa: E402

DAY = (2025, 1, 25)
RAMP_UP, LATER_RAMP_UP, RAMP_DOWN = "0900", "1000", "1700"
BEFORE_RAMP_UP, DUE_AT, MIDDAY = (8, 0), (9, 0), (12, 0)
CLONES_PER_DAG = (1, 5)
QUICK = {"dags": 50, "due": 5, "ticks": 3}


@dataclass
class Case:
    """One measured tick: its median time, the anchor's beside it, and its queries by kind."""

    label: str
    tick_ms: float
    anchor_ms: float
    queries: int
    kinds: dict[str, int]

    @property
    def ratio(self) -> float:
        return self.tick_ms / self.anchor_ms


def moment(hour_minute: tuple[int, int]) -> datetime:
    from django.utils import timezone

    return datetime(*DAY, *hour_minute, tzinfo=timezone.get_current_timezone())


def definition(name: str, *, ramp_up: str, ramp_count: int) -> dict:
    return {
        "name": name,
        "nodes": [{"id": "work", "command": ["/bin/true"]}],
        "autoclone": {
            "ramp_up_time": ramp_up,
            "ramp_down_time": RAMP_DOWN,
            "ramp_count": ramp_count,
        },
    }


def populate(*, dags: int, due: int, ramp_count: int, clones_each: int, folder: str) -> None:
    """Only ``dags`` parents in the database: the first ``due`` ramp up at 09:00, the others at
    10:00; each with ``clones_each`` auto clones made from 09:00 one a minute, and then the
    status the manager would have recorded. Without clones, no status rows: the manager's first
    tick makes them."""
    from dags.engine.autoclone import AutoCloneState, clone_name
    from dags.models import AutoCloneStatus, Clone, Dag
    from dags.services.definitions import definition_hash

    Dag.objects.all().delete()
    parents = []
    for index in range(dags):
        name = f"parent-{index:05d}"
        data = definition(
            name, ramp_up=RAMP_UP if index < due else LATER_RAMP_UP, ramp_count=ramp_count
        )
        parents.append(
            Dag(name=name, definition=data, definition_hash=definition_hash(data), folder=folder)
        )
    Dag.objects.bulk_create(parents)
    if not clones_each:
        return
    made = [moment(DUE_AT) + timedelta(minutes=minute) for minute in range(clones_each)]
    clones, links = [], []
    for parent in parents:
        for created_at in made:
            data = {key: value for key, value in parent.definition.items() if key != "autoclone"}
            data["name"] = clone_name(parent.name, created_at)
            clones.append(
                Dag(
                    name=data["name"],
                    definition=data,
                    definition_hash=definition_hash(data),
                    folder=folder,
                )
            )
            links.append((parent, created_at))
    Dag.objects.bulk_create(clones)
    Clone.objects.bulk_create(
        Clone(
            dag=clone,
            parent=parent,
            is_auto_clone=True,
            created_at=created_at,
            created_by="autoclone",
            autoclone_minute=created_at,
        )
        for clone, (parent, created_at) in zip(clones, links, strict=True)
    )
    AutoCloneStatus.objects.bulk_create(
        AutoCloneStatus(dag=parent, state=AutoCloneState.ACTIVE.value, last_action_at=made[-1])
        for parent in parents
    )


def read_parents() -> None:
    """The anchor: every parent's row, as the tick must read them."""
    from dags.models import Dag

    list(Dag.objects.filter(definition__has_key="autoclone"))


def counted(action: Callable[[], Any]) -> tuple[Any, list[str]]:
    """The result of ``action`` and the SQL of every query it ran."""
    from django.db import connection, reset_queries
    from django.test.utils import CaptureQueriesContext

    reset_queries()  # a full query log would make the capture count nothing
    with CaptureQueriesContext(connection) as captured:
        result = action()
    if len(connection.queries_log) == connection.queries_log.maxlen:
        raise SystemExit("more queries than Django's query log holds: use a smaller --due")
    return result, [query["sql"] for query in captured.captured_queries]


def kinds_of(queries: list[str]) -> dict[str, int]:
    found = collections.Counter(sql.split(None, 1)[0].upper() for sql in queries)
    return dict(sorted(found.items(), key=lambda item: (-item[1], item[0])))


def timed(action: Callable[[], Any]) -> float:
    started = time.perf_counter()
    action()
    return (time.perf_counter() - started) * 1000


def measure_quiet(label: str, now: datetime, ticks: int) -> tuple[Case, int]:
    """A tick with nothing due: the first one's queries (it may make status rows), then the
    queries of one more and the median time of ``ticks``, taking turns with the anchor."""
    from dags.services.autoclone import tick

    report, first = counted(lambda: tick(now))
    report, queries = counted(lambda: tick(now))
    if report.lines:
        raise SystemExit(f"{label}: expected nothing due, the tick did {report.lines[:3]}")
    tick_ms, anchor_ms = [], []
    for _ in range(ticks):
        anchor_ms.append(timed(read_parents))
        tick_ms.append(timed(lambda: tick(now)))
    case = Case(
        label=label,
        tick_ms=statistics.median(tick_ms),
        anchor_ms=statistics.median(anchor_ms),
        queries=len(queries),
        kinds=kinds_of(queries),
    )
    return case, len(first)


def measure_due(label: str, now: datetime, due: int, ticks: int) -> Case:
    """A tick that makes ``due`` clones, each time from the same state: the clones of the
    previous tick deleted and their parents' status rows back to idle, never acted."""
    from dags.engine.autoclone import AutoCloneState
    from dags.models import AutoCloneStatus, Clone, Dag
    from dags.services.autoclone import tick

    def reset() -> None:
        Dag.objects.filter(clone_link__isnull=False).delete()
        AutoCloneStatus.objects.update(state=AutoCloneState.IDLE.value, last_action_at=None)

    def made() -> int:
        return Clone.objects.filter(is_auto_clone=True).count()

    reset()
    report, queries = counted(lambda: tick(now))
    if made() != due or len(report.lines) != due:
        raise SystemExit(f"{label}: {made()} clones made, {due} expected: {report.lines[:3]}")
    tick_ms, anchor_ms = [], []
    for _ in range(ticks):
        reset()
        anchor_ms.append(timed(read_parents))
        tick_ms.append(timed(lambda: tick(now)))
        if made() != due:
            raise SystemExit(f"{label}: {made()} clones made, {due} expected")
    reset()
    return Case(
        label=label,
        tick_ms=statistics.median(tick_ms),
        anchor_ms=statistics.median(anchor_ms),
        queries=len(queries),
        kinds=kinds_of(queries),
    )


def run(dags: int, due: int, ticks: int, folder: str) -> dict[str, Any]:
    populate(dags=dags, due=due, ramp_count=5, clones_each=0, folder=folder)
    before, first_tick = measure_quiet(
        "nothing due, 08:00, before ramp-up", moment(BEFORE_RAMP_UP), ticks
    )
    due_case = measure_due(f"{due} due, 09:00, ramp-up minute", moment(DUE_AT), due, ticks)
    steady = []
    for clones in CLONES_PER_DAG:
        populate(dags=dags, due=dags, ramp_count=clones, clones_each=clones, folder=folder)
        label = f"nothing due, 12:00, {clones} clone{'s' if clones > 1 else ''} each"
        case, _ = measure_quiet(label, moment(MIDDAY), ticks)
        steady.append(case)
    return {
        "before": before,
        "first_tick_queries": first_tick,
        "due": due_case,
        "steady": steady,
    }


def report(options: argparse.Namespace, database: str, found: dict[str, Any]) -> dict[str, Any]:
    before, due_case, steady = found["before"], found["due"], found["steady"]
    cases = [before, due_case, *steady]
    due_queries = (due_case.queries - before.queries) / options.due
    due_ms = (due_case.tick_ms - before.tick_ms) / options.due
    counts = {case.label: case.queries for case in steady}
    flat = len(set(counts.values())) == 1
    verdict = (
        f"queries do not grow with clones per DAG: {' = '.join(map(str, counts.values()))} "
        f"for {', '.join(str(n) for n in CLONES_PER_DAG)} clones each"
        if flat
        else f"QUERIES GROW WITH CLONES PER DAG: {counts}"
    )
    slowest, quickest = steady[-1], steady[0]
    summary = {
        "dags": options.dags,
        "due": options.due,
        "ticks": options.ticks,
        "database": database,
        "cases": [asdict(case) | {"ratio": case.ratio} for case in cases],
        "first_tick_queries": found["first_tick_queries"],
        "queries_per_due_dag": due_queries,
        "ms_per_due_dag": due_ms,
        "queries_flat_in_clones_per_dag": flat,
        "verdict": verdict,
    }
    if options.json:
        print(json.dumps(summary, indent=2))
        return summary
    print(
        f"AutoClone manager tick over {options.dags:,} parents (window {RAMP_UP}-{RAMP_DOWN}); "
        f"{database}; {os.cpu_count()} cores; medians of {options.ticks} ticks"
    )
    print("anchor: reading the parents' rows, list(Dag.objects.filter(definition__has_key=...))")
    print(f"{'case':<40}{'tick ms':>10}{'anchor ms':>11}{'tick/anchor':>13}  queries")
    for case in cases:
        kinds = ", ".join(f"{count} {kind}" for kind, count in case.kinds.items())
        print(
            f"{case.label:<40}{case.tick_ms:>10.2f}{case.anchor_ms:>11.2f}"
            f"{case.ratio:>12.1f}x  {case.queries} ({kinds})"
        )
    print(f"first tick at 08:00 (makes the status rows): {found['first_tick_queries']} queries")
    print(
        f"per due DAG: {due_queries:.1f} queries, {due_ms:.2f} ms "
        f"(the due tick less the 08:00 tick, over {options.due})"
    )
    print(
        f"{slowest.label.split(', ')[-1]} against {quickest.label.split(', ')[-1]}: "
        f"tick {slowest.tick_ms / quickest.tick_ms:.2f}x, "
        f"tick/anchor {slowest.ratio:.1f}x against {quickest.ratio:.1f}x"
    )
    print(f"verdict: {verdict}")
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dags", type=int, help="AutoClone parents (default 1000)")
    parser.add_argument("--due", type=int, help="parents due in the due tick (default 100)")
    parser.add_argument("--ticks", type=int, help="timed ticks per case (default 7)")
    parser.add_argument("--quick", action="store_true", help="small sizes, a sanity check")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    options = parser.parse_args()
    defaults = QUICK if options.quick else {"dags": 1000, "due": 100, "ticks": 7}
    for name, value in defaults.items():
        if getattr(options, name) is None:
            setattr(options, name, value)
    if not 0 < options.due <= options.dags or options.ticks < 1:
        parser.error("needs 0 < --due <= --dags and --ticks >= 1")
    with tempfile.TemporaryDirectory(prefix="dagyard-bench-autoclone-") as name:
        tmp = Path(name)
        with database_from_environment(tmp / "data") as database:
            found = run(options.dags, options.due, options.ticks, folder=str(tmp))
            from django.db import connections

            connections.close_all()
    summary = report(options, database, found)
    if not summary["queries_flat_in_clones_per_dag"]:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
