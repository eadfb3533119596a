"""One autoscaler evaluation round over many OCI pools: pool by pool against concurrently.

An isolated Dagyard (temporary data directory, migrated SQLite with the project's own settings:
WAL, IMMEDIATE transactions) and the loopback OCI stand-in, started in this process. Every pool
is due and holds 2 or 3 instances whose metrics make a third of the pools scale up, a third scale
down and a third stay as they are. Then, in one run and from the same starting state each time:

- a counting round, pool by pool and not timed (counting has a cost of its own): database
  queries and HTTP calls per pool; at the end, the queries of one ``evaluate_pool`` call for each
  kind of decision (``CaptureQueriesContext``);
- the timed round made pool by pool: what ``evaluate_due_pools`` does;
- the timed round with its evaluations spread over a pool of threads, each with its own database
  connection (closed when the thread is done): what a worker pool of that many slots does.

The anchor is the pool-by-pool round: the concurrent round is reported as a ratio to it, and every
round must reach the same decision for every pool, or the run fails.

The stand-in answers at once, from this process: each call here costs CPU (the SDK signing the
request and parsing the answer, the stand-in serving it) under one interpreter lock, not waiting
on a network. So the gain measured is a floor: against a real cloud each call waits, and waiting
is exactly what concurrent evaluations overlap. ``--latency-ms`` adds such a wait to every
stand-in answer to show it.

Usage: python bench/autoscaler_round.py [--pools 1000] [--threads 16] [--latency-ms 0]
"""

from __future__ import annotations

import argparse
import collections
import datetime as dt
import logging
import os
import queue
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench._django import setup_django  # noqa: E402
from tests.fakes.oci_api import FakeOciApi, make_oci_config  # noqa: E402

# What each third of the pools sees (CPU %, RAM %) against thresholds of 80 %: above one
# threshold, under half of both, and in between.
LOADS = {"scale_up": (91.0, 40.0), "scale_down": (12.0, 20.0), "no_action": (60.0, 55.0)}
MIN_SIZE, MAX_SIZE = 1, 5


@dataclass(frozen=True)
class PlannedPool:
    """One pool of the benchmark: its name, its cloud id, the size it starts at and its load."""

    name: str
    instance_pool_id: str
    size: int
    expected: str

    @property
    def load(self) -> tuple[float, float]:
        return LOADS[self.expected]


class SlowOciApi(FakeOciApi):
    """The stand-in, answering each call after ``latency`` seconds, as a distant cloud does."""

    def __init__(self, latency: float) -> None:
        super().__init__()
        self.latency = latency

    def handle(self, method: str, raw_path: str, body: Any, signed: bool) -> tuple[int, Any]:
        if self.latency:
            time.sleep(self.latency)  # outside the stand-in's lock: callers wait side by side
        return super().handle(method, raw_path, body, signed)


def plan_pools(count: int) -> list[PlannedPool]:
    kinds = list(LOADS)
    return [
        PlannedPool(
            name=f"pool-{index:05d}",
            instance_pool_id=f"ocid1.instancepool.oc1..bench{index:05d}",
            size=2 + index % 2,
            expected=kinds[index % len(kinds)],
        )
        for index in range(count)
    ]


def prepare_environment(tmp: Path, fake: FakeOciApi) -> None:
    """An isolated Dagyard reaching the stand-in with credentials from the environment, as a
    deployment gives them. Must run before Django is set up in this process."""
    config = make_oci_config(tmp)
    setup_django(
        tmp / "data",
        DAGYARD_OCI_ENDPOINT=fake.endpoint,
        DAGYARD_PROVIDER_RETRY_DELAY_SECONDS="0",
        OCI_USER=config["user"],
        OCI_TENANCY=config["tenancy"],
        OCI_FINGERPRINT=config["fingerprint"],
        OCI_KEY_FILE=config["key_file"],
        OCI_REGION=config["region"],
    )
    # The decisions are the result here, not a log line per pool. Threads sharing one OCI client
    # outnumber its connection pool (10), and the stand-in closes every connection anyway.
    logging.getLogger("autoscaler").setLevel(logging.ERROR)
    logging.getLogger("urllib3.connectionpool").setLevel(logging.ERROR)


def create_pools(planned: list[PlannedPool]) -> None:
    from autoscaler.models import Pool

    for entry in planned:
        Pool(
            name=entry.name,
            provider="oci",
            instance_pool_id=entry.instance_pool_id,
            region="us-ashburn-1",
            monitoring_method="oci",
            cpu_threshold=80,
            ram_threshold=80,
            min_size=MIN_SIZE,
            max_size=MAX_SIZE,
        ).save()


def reset(fake: FakeOciApi, planned: list[PlannedPool]) -> None:
    """Every round starts alike: the cloud at the planned sizes, no history, every pool due."""
    from autoscaler.models import Pool, PoolEvaluation

    for entry in planned:
        cpu, ram = entry.load
        for instance_id in fake.add_pool(entry.instance_pool_id, size=entry.size):
            fake.set_metrics(instance_id, cpu=cpu, ram=ram)
    fake.calls.clear()
    PoolEvaluation.objects.all().delete()
    Pool.objects.update(next_evaluation_at=None)


def decisions() -> dict[str, tuple[str, int | None, int | None]]:
    from autoscaler.models import PoolEvaluation

    rows = PoolEvaluation.objects.values_list("pool__name", "outcome", "size_before", "size_after")
    return {name: (outcome, before, after) for name, outcome, before, after in rows}


def round_pool_by_pool(now: dt.datetime) -> int:
    from autoscaler.services.pools import evaluate_due_pools

    return len(evaluate_due_pools(now=now))


def round_concurrently(now: dt.datetime, threads: int) -> int:
    """Claim the due pools, then evaluate them on ``threads`` threads pulling from one queue."""
    from django.db import connections

    from autoscaler.services.pools import claim_due_pools, evaluate_pool_safely

    waiting: queue.SimpleQueue[int] = queue.SimpleQueue()
    for pool_id in claim_due_pools(now=now):
        waiting.put(pool_id)

    def work() -> int:
        done = 0
        try:
            while True:
                try:
                    pool_id = waiting.get_nowait()
                except queue.Empty:
                    return done
                if evaluate_pool_safely(pool_id, now=now) is not None:
                    done += 1
        finally:
            connections.close_all()  # this thread's own connection, not the others'

    with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="round") as executor:
        return sum(future.result() for future in [executor.submit(work) for _ in range(threads)])


@contextmanager
def counting_queries(connection: Any) -> Iterator[list[int]]:
    """Count the queries ``connection`` runs. Unlike ``CaptureQueriesContext``, which reads
    Django's query log and stops counting once that log holds 9,000 entries, this counts a round
    over any number of pools."""
    count = [0]

    def count_one(execute: Callable[..., Any], *args: Any) -> Any:
        count[0] += 1
        return execute(*args)

    with connection.execute_wrapper(count_one):
        yield count


def queries_of_one_evaluation(planned: list[PlannedPool], fake: FakeOciApi) -> dict[str, int]:
    """Queries of a single ``evaluate_pool`` call for the first pool of each kind."""
    from django.db import connection, reset_queries
    from django.test.utils import CaptureQueriesContext

    from autoscaler.models import Pool
    from autoscaler.services.pools import evaluate_pool

    reset(fake, planned)
    counts: dict[str, int] = {}
    for kind in LOADS:
        entry = next(entry for entry in planned if entry.expected == kind)
        pool = Pool.objects.get(name=entry.name)
        reset_queries()  # a full query log would make the capture below count nothing
        with CaptureQueriesContext(connection) as captured:
            evaluation = evaluate_pool(pool, now=dt.datetime.now(dt.UTC))
        if evaluation.outcome != kind:
            raise SystemExit(f"{entry.name}: expected {kind}, got {evaluation.outcome}")
        counts[kind] = len(captured.captured_queries)
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pools", type=int, default=1000)
    parser.add_argument("--threads", type=int, default=16)
    parser.add_argument(
        "--latency-ms", type=float, default=0.0, help="added to every stand-in answer"
    )
    args = parser.parse_args()
    planned = plan_pools(args.pools)

    with tempfile.TemporaryDirectory() as tmp, SlowOciApi(args.latency_ms / 1000) as fake:
        prepare_environment(Path(tmp), fake)
        from django.db import connection, connections

        create_pools(planned)

        reset(fake, planned)
        with counting_queries(connection) as queries:
            counted = round_pool_by_pool(dt.datetime.now(dt.UTC))
        round_queries = queries[0]
        routes = collections.Counter(call.route for call in fake.calls)
        expected = decisions()
        outcomes = collections.Counter(outcome for outcome, _, _ in expected.values())
        per_kind = {entry.name: entry.expected for entry in planned}
        wrong = [name for name, (outcome, _, _) in expected.items() if outcome != per_kind[name]]
        if counted != args.pools or wrong:
            raise SystemExit(f"counting round: {counted} evaluated, unexpected: {wrong[:5]}")

        reset(fake, planned)
        started = time.perf_counter()
        evaluated = round_pool_by_pool(dt.datetime.now(dt.UTC))
        sequential = time.perf_counter() - started
        if evaluated != args.pools or decisions() != expected:
            raise SystemExit("the pool-by-pool round decided differently from the counting round")

        reset(fake, planned)
        connections.close_all()  # the threads open their own
        started = time.perf_counter()
        evaluated = round_concurrently(dt.datetime.now(dt.UTC), args.threads)
        concurrent = time.perf_counter() - started
        if evaluated != args.pools or decisions() != expected:
            raise SystemExit("the concurrent round decided differently from the pool-by-pool one")

        one_evaluation = queries_of_one_evaluation(planned, fake)
        connections.close_all()

    calls = sum(routes.values())
    per_pool = 1000 / args.pools
    rows = [
        (
            "round pool by pool (anchor)",
            f"{sequential:8.2f} s  {sequential * per_pool:6.2f} ms/pool",
        ),
        (
            f"round on {args.threads} threads",
            f"{concurrent:8.2f} s  {concurrent * per_pool:6.2f} ms/pool",
        ),
        ("ratio pool by pool / concurrent", f"{sequential / concurrent:8.2f}x"),
        (
            "queries per pool, whole round",
            f"{round_queries / args.pools:8.2f}  ({round_queries} in all)",
        ),
        ("queries of one evaluate_pool", ", ".join(f"{k} {n}" for k, n in one_evaluation.items())),
        ("HTTP calls per pool", f"{calls / args.pools:8.2f}  ({calls} in all)"),
        *((f"  {route}", f"{count / args.pools:8.2f}") for route, count in sorted(routes.items())),
    ]
    print(
        f"pools: {args.pools} (all due), threads: {args.threads}, cores: {os.cpu_count()}, "
        f"stand-in latency: {args.latency_ms:g} ms, database: SQLite (WAL)"
    )
    print("decisions: " + ", ".join(f"{name} {count}" for name, count in sorted(outcomes.items())))
    for label, value in rows:
        print(f"{label:<34}{value}")


if __name__ == "__main__":
    main()
