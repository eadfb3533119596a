"""A loopback exporter serving node-exporter-style metrics that a real Prometheus scrapes.

The CPU counters advance with the wall clock at the busy fraction a test sets, so
``rate(node_cpu_seconds_total{mode="idle"}[1m])`` computed by Prometheus gives back exactly that
load; memory is a pair of gauges.

    with NodeExporterStandIn(cpu_percent=75, memory_percent=40) as exporter:
        exporter.address  # "127.0.0.1:PORT", a scrape target
"""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

MEMORY_TOTAL_BYTES = 8 * 1024**3


class NodeExporterStandIn:
    def __init__(self, *, cpu_percent: float, memory_percent: float, cpus: int = 2) -> None:
        self._lock = threading.Lock()
        self._cpus = cpus
        self._busy = cpu_percent / 100
        self._memory = memory_percent / 100
        self._idle_seconds = 1000.0
        self._busy_seconds = 1000.0
        self._last = time.monotonic()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> NodeExporterStandIn:
        handler = type("BoundHandler", (_Handler,), {"exporter": self})
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join()

    def __enter__(self) -> NodeExporterStandIn:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def address(self) -> str:
        if self._server is None:
            raise RuntimeError("the exporter is not started")
        host, port = self._server.server_address[:2]
        return f"{host}:{port}"

    def set_load(self, *, cpu_percent: float, memory_percent: float) -> None:
        with self._lock:
            self._advance()
            self._busy = cpu_percent / 100
            self._memory = memory_percent / 100

    def exposition(self) -> str:
        with self._lock:
            self._advance()
            lines = ["# HELP node_cpu_seconds_total Seconds the CPUs spent in each mode.",
                     "# TYPE node_cpu_seconds_total counter"]  # fmt: skip
            for cpu in range(self._cpus):
                lines.append(f'node_cpu_seconds_total{{cpu="{cpu}",mode="idle"}} '
                             f"{self._idle_seconds:.6f}")  # fmt: skip
                lines.append(f'node_cpu_seconds_total{{cpu="{cpu}",mode="user"}} '
                             f"{self._busy_seconds:.6f}")  # fmt: skip
            available = MEMORY_TOTAL_BYTES * (1 - self._memory)
            lines += [
                "# HELP node_memory_MemTotal_bytes Memory information field MemTotal_bytes.",
                "# TYPE node_memory_MemTotal_bytes gauge",
                f"node_memory_MemTotal_bytes {MEMORY_TOTAL_BYTES}",
                "# HELP node_memory_MemAvailable_bytes Memory information field "
                "MemAvailable_bytes.",
                "# TYPE node_memory_MemAvailable_bytes gauge",
                f"node_memory_MemAvailable_bytes {available:.0f}",
            ]
            return "\n".join(lines) + "\n"

    def _advance(self) -> None:
        now = time.monotonic()
        elapsed = now - self._last
        self._last = now
        self._idle_seconds += elapsed * (1 - self._busy)
        self._busy_seconds += elapsed * self._busy


class _Handler(BaseHTTPRequestHandler):
    exporter: NodeExporterStandIn

    def do_GET(self) -> None:
        if self.path.split("?", 1)[0] != "/metrics":
            self.send_error(404)
            return
        body = self.exporter.exposition().encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; version=0.0.4")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""
