"""The anchors Dagyard's DAG benchmark is measured against, run on the very same edges.

- ``run_with_make``: GNU make over a generated Makefile, ``make -j2``. Make starts a target the
  moment its prerequisites are built, from one process with no broker and no database: the floor
  for running processes in dependency order on this machine.
- ``run_with_polling``: the orchestrator the seed describes. Kahn's in-degree counts, ready nodes
  started with ``Popen``, and completions noticed by polling every 0.5 s, so each of the DAG's
  layers costs at least one tick whatever the nodes do.

Each returns an ``AnchorRun``: wall seconds plus each node's start and end, in seconds from the
start of the run, from which ``start_delays`` derives the delay between a node's last
prerequisite ending and the node starting.

Usage: python bench/dag_anchors.py [--nodes 1000] [--make-runs 3] [--parallel 2 0]
"""

from __future__ import annotations

import argparse
import math
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import deque
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import NamedTuple

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench.dag_shapes import DEFAULT_NODES, depth, edge_count, layered_dag  # noqa: E402

DEFAULT_JOBS = 2
"""Two, like the two worker processes Dagyard runs with on this two-core machine."""
POLL_INTERVAL_SECONDS = 0.5
"""The seed's polling interval."""
DEFAULT_PARALLEL = 2
BASH = "/bin/bash"
"""Only for timed make runs: bash's ``$EPOCHREALTIME`` reads the clock without a process."""
ALL_TARGET = "all"
STARTS_LOG = "starts.log"
ENDS_LOG = "ends.log"
PERCENTILES = (50, 95)
DEFAULT_MAKE_RUNS = 3
"""make is quick: take the median of a few runs, as one run on a shared host is noisy."""
START_COST_RUNS = 30


class AnchorFailed(RuntimeError):
    """An anchor could not finish the DAG: a node failed, or make did."""


class AnchorRun(NamedTuple):
    """How long an anchor took, and when each node started and ended (seconds from the start).

    A tuple, so ``wall, starts, ends = run_with_make(...)`` reads as plainly as the attributes.
    The per-node maps are empty when the anchor was not asked to record them.
    """

    wall_seconds: float
    starts: dict[str, float]
    ends: dict[str, float]
    """For the polling anchor, when the orchestrator noticed the end: that is what it acts on."""


def run_with_make(
    edges: Mapping[str, Sequence[str]],
    argv: Sequence[str],
    jobs: int = DEFAULT_JOBS,
    *,
    record_nodes: bool = False,
) -> AnchorRun:
    """Run the DAG with ``make -j<jobs>``: each node one target that runs ``argv``, then a stamp.

    Without ``record_nodes`` the recipes are exactly the command and ``touch``, which make starts
    directly, without a shell, so the wall time is make's own. With it, each recipe runs in one
    bash that writes the clock before and after the command: per-node times for start delays, at
    the price of one bash per node, so take the wall time from a run without it.
    """
    command = _make_words(argv)
    with tempfile.TemporaryDirectory(prefix="dagyard-make-") as tmp:
        folder = Path(tmp)
        lines = [".SUFFIXES:"]
        if record_nodes:
            lines.append(f"SHELL := {BASH}")
        leaves = set(edges) - {parent for parents in edges.values() for parent in parents}
        lines.append(f"{ALL_TARGET}: {' '.join(node for node in edges if node in leaves)}")
        for node, parents in edges.items():
            lines.append(f"{node}: {' '.join(parents)}".rstrip())
            if record_nodes:
                lines.append(
                    f'\t@echo "$@ $$EPOCHREALTIME" >> {STARTS_LOG}; {command}; '
                    f'echo "$@ $$EPOCHREALTIME" >> {ENDS_LOG}; touch $@'
                )
            else:
                lines.append(f"\t@{command}")
                lines.append("\t@touch $@")
        (folder / "Makefile").write_text("\n".join(lines) + "\n")
        make = shutil.which("make")
        if make is None:
            raise AnchorFailed("make is not installed")
        began_at = time.time()
        began = time.perf_counter()
        result = subprocess.run(
            [make, "-r", f"-j{jobs}", "-C", str(folder), ALL_TARGET],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            check=False,
        )
        wall = time.perf_counter() - began
        if result.returncode != 0:
            raise AnchorFailed(f"make exited with {result.returncode}: {result.stderr.strip()}")
        if not record_nodes:
            return AnchorRun(wall_seconds=wall, starts={}, ends={})
        return AnchorRun(
            wall_seconds=wall,
            starts=_clock_log(folder / STARTS_LOG, began_at),
            ends=_clock_log(folder / ENDS_LOG, began_at),
        )


def run_with_polling(
    edges: Mapping[str, Sequence[str]],
    argv: Sequence[str],
    interval: float = POLL_INTERVAL_SECONDS,
    parallel: int | None = DEFAULT_PARALLEL,
) -> AnchorRun:
    """Run the DAG as the seed's orchestrator does: start what is ready, sleep, poll, repeat.

    At most ``parallel`` nodes run at once (``None``: no cap, as the seed has it); a cap equal to
    the cores keeps the comparison fair with ``make -j2`` and two Dagyard workers. A failed node
    stops the run, as in the seed.
    """
    waiting = {node: len(parents) for node, parents in edges.items()}
    dependants: dict[str, list[str]] = {node: [] for node in edges}
    for node, parents in edges.items():
        for parent in parents:
            dependants[parent].append(node)
    ready = deque(node for node, count in waiting.items() if count == 0)
    running: dict[str, subprocess.Popen[bytes]] = {}
    starts: dict[str, float] = {}
    ends: dict[str, float] = {}
    began = time.perf_counter()
    try:
        while ready or running:
            while ready and (parallel is None or len(running) < parallel):
                node = ready.popleft()
                starts[node] = time.perf_counter() - began
                running[node] = subprocess.Popen(
                    list(argv), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
                )
            time.sleep(interval)
            for node, process in list(running.items()):
                code = process.poll()
                if code is None:
                    continue
                del running[node]
                ends[node] = time.perf_counter() - began
                if code != 0:
                    raise AnchorFailed(f"node {node} exited with {code}")
                for child in dependants[node]:
                    waiting[child] -= 1
                    if waiting[child] == 0:
                        ready.append(child)
    finally:
        for process in running.values():
            process.kill()
            process.wait()
    if len(ends) != len(edges):
        raise AnchorFailed(f"{len(edges) - len(ends)} nodes never became ready: a cycle?")
    return AnchorRun(wall_seconds=time.perf_counter() - began, starts=starts, ends=ends)


def start_delays(edges: Mapping[str, Sequence[str]], run: AnchorRun) -> list[float]:
    """For each node with prerequisites, seconds from its last prerequisite's end to its start.

    Under a cap (``-j2``, two workers) this includes waiting for a free slot behind ready
    siblings, so compare runners with the same cap; only the uncapped figure is pure overhead.
    """
    return [
        run.starts[node] - max(run.ends[parent] for parent in parents)
        for node, parents in edges.items()
        if parents and node in run.starts
    ]


def percentile(values: Sequence[float], percent: float) -> float:
    """Nearest-rank percentile: a value that really occurred, no interpolation."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(percent / 100 * len(ordered)))
    return ordered[rank - 1]


def _make_words(argv: Sequence[str]) -> str:
    if not argv:
        raise ValueError("argv must name a program")
    # Make expands `$` before the shell sees the line: double it so a command reaches it whole.
    return shlex.join(argv).replace("$", "$$")


def _clock_log(path: Path, began_at: float) -> dict[str, float]:
    times: dict[str, float] = {}
    for line in path.read_text().splitlines():
        node, stamp = line.rsplit(" ", 1)
        times[node] = float(stamp) - began_at
    return times


def _delay_summary(edges: Mapping[str, Sequence[str]], run: AnchorRun) -> str:
    delays = start_delays(edges, run)
    return ", ".join(f"p{share} {percentile(delays, share) * 1000:.1f} ms" for share in PERCENTILES)


def process_start_seconds(argv: Sequence[str], runs: int = START_COST_RUNS) -> float:
    """Median wall time of one run of ``argv`` alone: the floor every node pays on this host.

    Printed beside the anchors so figures from a busy machine can be read against its speed.
    """
    samples = []
    for _ in range(runs):
        began = time.perf_counter()
        subprocess.run(list(argv), stdout=subprocess.DEVNULL, check=True)
        samples.append(time.perf_counter() - began)
    return statistics.median(samples)


def main(arguments: Sequence[str] | None = None) -> None:
    """Run every anchor on the benchmark DAG and print wall times and child start delays."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--nodes", type=int, default=DEFAULT_NODES)
    parser.add_argument("--jobs", type=int, default=DEFAULT_JOBS)
    parser.add_argument("--make-runs", type=int, default=DEFAULT_MAKE_RUNS)
    parser.add_argument("--interval", type=float, default=POLL_INTERVAL_SECONDS)
    parser.add_argument(
        "--parallel",
        type=int,
        nargs="*",
        default=[DEFAULT_PARALLEL, 0],
        help="polling runs to make, by how many nodes may run at once (0: no cap); none to skip",
    )
    options = parser.parse_args(arguments)
    edges = layered_dag(options.nodes)
    argv = [sys.executable, "-c", "pass"]
    print(
        f"layered DAG: {len(edges)} nodes, {depth(edges)} layers, {edge_count(edges)} edges; "
        f"each node runs {shlex.join(argv)}"
    )
    print(f"one node alone: {process_start_seconds(argv) * 1000:.1f} ms (median)")
    walls = [
        run_with_make(edges, argv, jobs=options.jobs).wall_seconds for _ in range(options.make_runs)
    ]
    make_wall = statistics.median(walls)
    print(
        f"make -j{options.jobs}: {make_wall:.2f} s "
        f"(median of {len(walls)}: {', '.join(f'{wall:.2f}' for wall in walls)})"
    )
    timed = run_with_make(edges, argv, jobs=options.jobs, record_nodes=True)
    print(
        f"make -j{options.jobs}, timed through bash: {timed.wall_seconds:.2f} s; "
        f"child start after last prerequisite: {_delay_summary(edges, timed)}"
    )
    for parallel in options.parallel:
        cap = parallel or None
        polled = run_with_polling(edges, argv, interval=options.interval, parallel=cap)
        label = f"{cap} at a time" if cap else "no cap"
        print(
            f"polling every {options.interval} s, {label}: {polled.wall_seconds:.2f} s "
            f"({polled.wall_seconds / make_wall:.1f}x make); "
            f"child start after last prerequisite: {_delay_summary(edges, polled)}"
        )


if __name__ == "__main__":
    main()
