"""How long `dagyard up` takes to be useful, against the floor of what it has to start.

Measured side by side in one run, on a fresh data directory each time:

- dagyard up: from launch to `/healthz` answering 200, and to the launcher's "Press Ctrl-C"
  (worker answering a ping too), then the time SIGTERM takes to stop everything;
- anchor: the bundled redis-server plus one bare `celery worker` of the same app, from launch to
  the worker's first ping reply: the least any system of this shape can do.

Usage: python bench/startup.py [--runs 3]
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from orchestrator.launcher.embedded_redis import BUNDLED, EmbeddedRedis, resolve_binary  # noqa: E402
from orchestrator.launcher.ports import free_port  # noqa: E402


def environment(data_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DATABASE_URL")}
    env.update(DAGYARD_DATA_DIR=str(data_dir), PYTHONUNBUFFERED="1", **extra)
    return env


def measure_up() -> tuple[float, float, float]:
    with tempfile.TemporaryDirectory() as tmp:
        data_dir, port = Path(tmp) / "data", free_port()
        out = Path(tmp) / "up.out"
        started = time.perf_counter()
        with open(out, "w") as sink:
            process = subprocess.Popen(
                [sys.executable, "-m", "orchestrator.cli", "up", "--port", str(port)],
                cwd=REPO, env=environment(data_dir), stdout=sink, stderr=subprocess.STDOUT,
            )  # fmt: skip
        healthy = None
        while True:
            if healthy is None:
                try:
                    url = f"http://127.0.0.1:{port}/healthz"
                    with urllib.request.urlopen(url, timeout=2) as answer:  # noqa: S310
                        if answer.status == 200:
                            healthy = time.perf_counter() - started
                except OSError:
                    pass
            if "Press Ctrl-C" in out.read_text():
                ready = time.perf_counter() - started
                break
            if process.poll() is not None:
                raise SystemExit(f"dagyard up exited:\n{out.read_text()}")
            time.sleep(0.02)
        if healthy is None:
            healthy = ready
        stopping = time.perf_counter()
        process.send_signal(signal.SIGTERM)
        process.wait(60)
        return healthy, ready, time.perf_counter() - stopping


def measure_anchor() -> float:
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp) / "data"
        started = time.perf_counter()
        server = EmbeddedRedis(
            binary=resolve_binary(BUNDLED),
            directory=data_dir / "redis",
            log_path=data_dir / "r.log",
        )
        server.start()
        env = environment(data_dir, REDIS_URL=server.url)
        worker = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "orchestrator", "worker", "-c", "1",
             "--without-gossip", "--without-mingle", "--hostname", "anchor@bench"],
            cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        ping = [sys.executable, "-c", PING_SCRIPT]
        while subprocess.run(ping, cwd=REPO, env=env, check=False).returncode != 0:
            pass
        elapsed = time.perf_counter() - started
        worker.terminate()
        worker.wait(30)
        server.stop()
        return elapsed


PING_SCRIPT = (
    "import sys; from orchestrator.celery import app; "
    "sys.exit(0 if app.control.ping(destination=['anchor@bench'], timeout=0.3) else 1)"
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    runs = parser.parse_args().runs
    ups = [measure_up() for _ in range(runs)]
    anchors = [measure_anchor() for _ in range(runs)]
    healthy = statistics.median(u[0] for u in ups)
    ready = statistics.median(u[1] for u in ups)
    stop = statistics.median(u[2] for u in ups)
    anchor = statistics.median(anchors)
    print(f"runs: {runs} (medians), cores: {os.cpu_count()}")
    print(f"dagyard up -> /healthz 200          {healthy:6.2f} s")
    print(f"dagyard up -> ready (worker pinged) {ready:6.2f} s")
    print(f"dagyard up SIGTERM -> all stopped   {stop:6.2f} s")
    print(
        f"anchor: redis + bare worker pinged  {anchor:6.2f} s  (the anchor includes its ping loop)"
    )
    print(f"ratio ready / anchor                {ready / anchor:6.2f}x")


if __name__ == "__main__":
    main()
