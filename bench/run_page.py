"""The run page of a 1,000-node DAG against a 10-node one: how soon the graph is drawn in headless
Chromium, and what the status endpoint the page polls costs on the server.

- Graph drawn: the page sets ``window.dagyardGraphReadyAt = performance.now()`` once the layout
  is done and the first frame painted, so the figure is milliseconds from navigation start to a
  drawn graph (HTML, scripts, layout and paint). Median of ``--loads`` page loads each.
  Target: within 2 s for 1,000 nodes.
- Status endpoint: server time of ``/runs/<id>/status.json?after=0`` through Django's test client
  (routing, session, role, three queries, JSON), median of ``--calls`` calls, for runs of 10,
  1,000 and 5,000 nodes, taking turns. Linear growth means a constant cost per node: the
  marginal cost from 1,000 to 5,000 nodes should be no larger than from 10 to 1,000.

Everything runs in an isolated data directory with a migrated SQLite and an embedded Redis (the
broker holds the runs' first messages; no worker is started). Runs are made with ``start_run``,
then half their nodes are marked succeeded and some running, as a run in progress looks.

Usage: python bench/run_page.py [--loads 5] [--calls 50]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.dag_shapes import layered_dag, write_definition  # noqa: E402
from bench.dag_throughput import prepare_environment  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
USER, PASSWORD = "bench", "bench-password-1"
GRAPH_TARGET_MS = 2000
PHASES = """() => {
  const at = name => performance.getEntriesByName(name)[0].startTime;
  return {
    html: performance.getEntriesByType("navigation")[0].responseEnd,
    script: at("dagyard-script"),
    drawn: at("dagyard-drawn"),
    ready: window.dagyardGraphReadyAt,
  };
}"""
"""Milliseconds from navigation start: the page's HTML received, the run page's script started
(library scripts parsed), the graph built, and its first frame painted."""


def make_run(folder: Path, nodes: int):
    """A run of a layered DAG of ``nodes`` nodes, half done and a few running."""
    from django.utils import timezone

    from dags.engine.definition import load_definition_file
    from dags.models import NodeRun
    from dags.services.definitions import save_definition
    from dags.services.runs import start_run
    from dags.states import NodeState

    edges = layered_dag(nodes=nodes, width=min(20, max(1, nodes // 5)))
    write_definition(folder, edges, ["/bin/true"], name=f"page-{nodes}")
    dag, _ = save_definition(load_definition_file(folder / "dag.yaml"))
    run = start_run(dag=dag)
    ids = list(NodeRun.objects.filter(run=run).order_by("pk").values_list("pk", flat=True))
    start = timezone.now() - timedelta(seconds=30)
    half = ids[: len(ids) // 2]
    NodeRun.objects.filter(pk__in=half).update(
        state=NodeState.SUCCEEDED, started_at=start, finished_at=start + timedelta(seconds=1)
    )
    NodeRun.objects.filter(pk__in=ids[len(half) : len(half) + 5]).update(
        state=NodeState.RUNNING, started_at=start + timedelta(seconds=2)
    )
    return run


def status_times(runs: dict, calls: int) -> dict[int, list[float]]:
    """Server milliseconds per status call, measured around the test client's request. The
    sizes take turns, call by call, so a busy moment of the machine hits them all alike."""
    from django.contrib.auth.models import User
    from django.test import Client

    client = Client(HTTP_HOST="localhost")
    client.force_login(User.objects.get(username=USER))
    urls = {nodes: f"/runs/{run.pk}/status.json?after=0" for nodes, run in runs.items()}
    times: dict[int, list[float]] = {nodes: [] for nodes in runs}
    for url in urls.values():
        assert client.get(url).status_code == 200
    for _ in range(calls):
        for nodes, url in urls.items():
            started = time.perf_counter()
            answer = client.get(url)
            times[nodes].append((time.perf_counter() - started) * 1000)
            assert answer.status_code == 200
    return times


def graph_times(
    base_url: str, run_ids: dict[int, int], edges: dict[int, int], loads: int
) -> dict[int, list[dict[str, float]]]:
    """The phases of each page load (see ``PHASES``), per node count."""
    from playwright.sync_api import sync_playwright

    phases: dict[int, list[dict[str, float]]] = {nodes: [] for nodes in run_ids}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(f"{base_url}/accounts/login/")
        page.fill("#id_username", USER)
        page.fill("#id_password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(f"{base_url}/")
        for nodes, run_id in run_ids.items():
            page.goto(f"{base_url}/runs/{run_id}/")  # warm: static files cached, as for a user
            page.wait_for_function("window.dagyardGraphReadyAt !== undefined", timeout=60_000)
            for _ in range(loads):
                page.reload()
                page.wait_for_function("window.dagyardGraphReadyAt !== undefined", timeout=60_000)
                phases[nodes].append(page.evaluate(PHASES))
            drawn = page.evaluate("window.dagyardGraph.nodes().length")
            assert drawn == nodes, f"{drawn} nodes drawn, {nodes} expected"
            lines = page.evaluate(
                "document.getElementById('graph').dataset.edges"
                " || String(window.dagyardGraph.edges().length)"
            )
            assert int(lines) == edges[nodes], f"{lines} edges drawn, {edges[nodes]} expected"
            if nodes >= 1000:
                page.screenshot(path=str(REPO / "test-artifacts" / "run-page-1000.png"))
        browser.close()
    return phases


def edge_count(definition: dict) -> int:
    return sum(len(node.get("in", [])) for node in definition["nodes"])


def start_server():
    """The site with its static files on a free port, in a thread of this process."""
    from django.contrib.staticfiles.handlers import StaticFilesHandler
    from django.test.testcases import LiveServerThread

    server = LiveServerThread("localhost", StaticFilesHandler, port=0)
    server.daemon = True
    server.start()
    server.is_ready.wait()
    if server.error:
        raise server.error
    return server


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--loads", type=int, default=5, help="page loads per graph size")
    parser.add_argument("--calls", type=int, default=50, help="status calls per run size")
    options = parser.parse_args()
    if not Path(CHROMIUM).exists():
        raise SystemExit(f"needs Debian's chromium at {CHROMIUM}")
    (REPO / "test-artifacts").mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="dagyard-bench-page-") as name:
        tmp = Path(name)
        processes = prepare_environment(tmp)
        os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"  # Playwright's loop shares the thread
        try:
            from django.contrib.auth.models import Group, User

            user = User.objects.create_user(USER, password=PASSWORD)
            user.groups.add(Group.objects.get(name="viewer"))
            runs = {nodes: make_run(tmp / f"dag{nodes}", nodes) for nodes in (10, 1000, 5000)}
            status = status_times(runs, options.calls)
            server = start_server()
            try:
                base_url = f"http://localhost:{server.port}"
                pages = graph_times(
                    base_url,
                    {n: runs[n].pk for n in (10, 1000)},
                    {n: edge_count(runs[n].definition) for n in (10, 1000)},
                    options.loads,
                )
            finally:
                server.terminate()
        finally:
            for process in processes:
                process.terminate()
                process.wait(30)
    report(pages, status)


def report(pages: dict[int, list[dict[str, float]]], status: dict[int, list[float]]) -> None:
    def median(nodes: int, phase: str) -> float:
        return statistics.median(sample[phase] for sample in pages[nodes])

    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"run page in headless Chromium; {os.cpu_count()} cores, load average {load:.1f}")
    print("medians in ms from navigation start: html received / scripts ready / graph built / "
          "graph drawn")  # fmt: skip
    for nodes in pages:
        phases = " / ".join(f"{median(nodes, phase):5.0f}" for phase in ("html", "script", "drawn"))
        print(f"graph, {nodes:>5,} nodes   {phases} / {median(nodes, 'ready'):5.0f} ms  "
              f"(median of {len(pages[nodes])})")  # fmt: skip
    small, large = median(10, "ready"), median(1000, "ready")
    verdict = "met" if large <= GRAPH_TARGET_MS else "MISSED"
    print(f"graph drawn, 1,000 vs 10 nodes: {large:.0f} ms vs {small:.0f} ms, "
          f"ratio {large / small:.1f}x (target <= {GRAPH_TARGET_MS} ms: {verdict})")  # fmt: skip
    medians = {nodes: statistics.median(times) for nodes, times in status.items()}
    for nodes, value in medians.items():
        ratio = value / medians[10]
        print(f"status.json, {nodes:>5,} nodes  {value:8.2f} ms  ratio to 10 nodes {ratio:.1f}x  "
              f"(median of {len(status[nodes])})")  # fmt: skip
    first = (medians[1000] - medians[10]) / 990 * 1000
    second = (medians[5000] - medians[1000]) / 4000 * 1000
    shape = "linear or better" if second <= first * 1.5 else "FASTER THAN LINEAR"
    print(f"status.json cost per node   {first:6.1f} us (10->1,000)  {second:6.1f} us "
          f"(1,000->5,000): {shape}")  # fmt: skip


if __name__ == "__main__":
    main()
