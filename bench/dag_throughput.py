"""Dagyard against its anchors on the same 1,000-node DAG, in one run.

The DAG is random and layered (width about 20, 1-3 prerequisites each); every node runs the same
interpreter by its absolute path with `-c pass`. Three ways, side by side:

- Dagyard: two worker processes (one task slot each) on an embedded Redis and SQLite, exactly the
  processes `dagyard up` starts;
- `make -j2` over a generated Makefile: the floor for running processes in dependency order;
- a polling orchestrator that checks every 0.5 s, as the original design describes.

It also reports the delay from a node's last prerequisite ending to its own start (p50, p95):
on the wide DAG, where it includes waiting for one of the two slots (make's is shown beside it),
and on a 200-node chain, where a slot is always free so it is the pure dispatch delay. Then the
throughput for nodes that run /bin/true, and the engine's memory to validate and plan 1,000 and
10,000 nodes (linear means the ratio stays near 10).

Usage: python bench/dag_throughput.py [--nodes 1000] [--pool prefork|threads|solo] [--skip-anchors]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench._django import setup_django  # noqa: E402
from bench.dag_anchors import percentile, run_with_make, run_with_polling, start_delays  # noqa: E402
from bench.dag_shapes import layered_dag, write_definition  # noqa: E402

WORKERS = 2
RUN_TIMEOUT_SECONDS = 600


def prepare_environment(tmp: Path) -> list[subprocess.Popen]:
    """An isolated Dagyard: data directory, embedded Redis, migrated SQLite. Must run before
    Django is set up in this process."""
    from orchestrator.launcher.embedded_redis import BUNDLED, EmbeddedRedis, resolve_binary

    redis = EmbeddedRedis(
        binary=resolve_binary(BUNDLED), directory=tmp / "redis", log_path=tmp / "redis.log"
    )
    redis.start()
    setup_django(tmp / "data", REDIS_URL=redis.url)
    return [redis.process]


def start_workers(tmp: Path, pool: str) -> list[subprocess.Popen]:
    from orchestrator.celery import app

    workers = []
    for index in range(WORKERS):
        workers.append(
            subprocess.Popen(
                [sys.executable, "-m", "celery", "-A", "orchestrator", "worker",
                 "--pool", pool, "--concurrency", "1", "--queues", "dags",
                 "--hostname", f"bench{index}@%h", "--loglevel", "WARNING",
                 "--without-gossip", "--without-mingle", "--without-heartbeat"],
                cwd=REPO, env=dict(os.environ), stdout=subprocess.DEVNULL,
                stderr=open(tmp / f"worker{index}.log", "w"),  # noqa: SIM115
                start_new_session=True,
            )
        )  # fmt: skip
    deadline = time.monotonic() + 60
    while len(app.control.ping(timeout=0.5)) < WORKERS:
        if time.monotonic() > deadline:
            raise SystemExit("workers did not answer")
    return workers


def run_dagyard(folder: Path) -> tuple[float, list[float], int]:
    """Run the DAG once; returns wall seconds, child-start delays, and node count."""
    from dags.engine.definition import load_definition_file
    from dags.models import NodeAttempt
    from dags.services.definitions import save_definition
    from dags.services.runs import start_run
    from dags.states import RUN_TERMINAL, RunState

    dag, _ = save_definition(load_definition_file(folder / "dag.yaml"))
    started = time.perf_counter()
    run = start_run(dag=dag)
    deadline = time.monotonic() + RUN_TIMEOUT_SECONDS
    while True:
        run.refresh_from_db(fields=["state"])
        if run.state in RUN_TERMINAL:
            break
        if time.monotonic() > deadline:
            raise SystemExit("run did not finish")
        time.sleep(0.02)
    wall = time.perf_counter() - started
    if run.state != RunState.SUCCEEDED:
        raise SystemExit(f"run ended {run.state}: {run.error}")
    times = {
        node_id: (start, end)
        for node_id, start, end in NodeAttempt.objects.filter(node_run__run=run).values_list(
            "node_run__node_id", "started_at", "finished_at"
        )
    }
    edges = {n["id"]: n["in"] for n in run.definition["nodes"]}
    delays = [
        (times[node][0] - max(times[p][1] for p in parents)).total_seconds() * 1000
        for node, parents in edges.items()
        if parents
    ]
    return wall, delays, len(times)


def engine_memory(nodes: int) -> float:
    """Peak MiB to parse, validate and plan a layered DAG of `nodes` nodes."""
    from dags.engine.definition import parse_definition
    from dags.engine.ready import ready_nodes
    from dags.engine.validation import validate

    edges = layered_dag(nodes=nodes)
    data = {"name": "memory", "nodes": [
        {"id": node, "command": ["/bin/true"], "in": parents} for node, parents in edges.items()
    ]}  # fmt: skip
    tracemalloc.start()
    definition = parse_definition(data, source="bench", folder=REPO, default_name="memory")
    graph = validate(definition, check_files=False)
    ready_nodes(graph, {})
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak / 2**20


def delays_line(label: str, delays_ms: list[float]) -> str:
    return (f"{label:<38} p50 {percentile(delays_ms, 50):7.1f} ms   "
            f"p95 {percentile(delays_ms, 95):7.1f} ms")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=1000)
    parser.add_argument("--pool", default="prefork", choices=["prefork", "threads", "solo"])
    parser.add_argument("--skip-anchors", action="store_true")
    options = parser.parse_args()
    python = [sys.executable, "-c", "pass"]
    edges = layered_dag(nodes=options.nodes)
    chain = {f"c{i}": [f"c{i - 1}"] if i else [] for i in range(200)}
    with tempfile.TemporaryDirectory(prefix="dagyard-bench-") as name:
        tmp = Path(name)
        processes = prepare_environment(tmp)
        workers = start_workers(tmp, options.pool)
        try:
            write_definition(tmp / "python", edges, python, name="bench-python")
            wall, delays, count = run_dagyard(tmp / "python")
            write_definition(tmp / "chain", chain, python, name="bench-chain")
            _, chain_delays, _ = run_dagyard(tmp / "chain")
            write_definition(tmp / "true", edges, ["/bin/true"], name="bench-true")
            true_wall, _, true_count = run_dagyard(tmp / "true")
        finally:
            for process in workers + processes:
                process.terminate()
            for process in workers + processes:
                process.wait(30)
    print(f"DAG: {count} nodes, layered width ~20, 1-3 prerequisites; {os.cpu_count()} cores")
    print(f"dagyard ({WORKERS} workers, {options.pool:<8})    {wall:7.2f} s")
    if not options.skip_anchors:
        make = run_with_make(edges, python, jobs=2)
        polling = run_with_polling(edges, python, interval=0.5, parallel=2)
        print(f"make -j2                             {make.wall_seconds:7.2f} s   "
              f"dagyard / make = {wall / make.wall_seconds:.2f}x (target <= 1.5x)")  # fmt: skip
        print(f"polling every 0.5 s                  {polling.wall_seconds:7.2f} s   "
              f"polling / dagyard = {polling.wall_seconds / wall:.1f}x")  # fmt: skip
        make_delays = [d * 1000 for d in start_delays(edges, make)]
        if make_delays:
            print(delays_line("start delay, wide DAG, make -j2", make_delays))
    print(delays_line("start delay, wide DAG, dagyard", delays))
    print(delays_line("start delay, 200-node chain, dagyard", chain_delays) + "  (target p95 < 50)")
    print(f"/bin/true throughput                 {true_count / true_wall:7.1f} nodes/s")
    small, large = engine_memory(1_000), engine_memory(10_000)
    print(f"engine memory (parse+validate+plan)  1k: {small:.2f} MiB  10k: {large:.2f} MiB  "
          f"ratio {large / small:.1f} (linear ~10)")  # fmt: skip


if __name__ == "__main__":
    main()
