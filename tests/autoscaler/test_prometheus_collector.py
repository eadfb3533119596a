"""The Prometheus collector against a real Prometheus scraping a loopback node exporter."""

from __future__ import annotations

import contextlib
import json
import shutil
import socket
import subprocess
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from autoscaler.collectors.base import CollectionError, collector_for
from autoscaler.collectors.prometheus import PrometheusMetricsCollector, host_of
from autoscaler.pool_config import PoolConfig, ScalingLimits
from autoscaler.providers.base import Instance
from tests.fakes.prometheus_exporter import NodeExporterStandIn

PROMETHEUS = shutil.which("prometheus") or "/usr/bin/prometheus"
READY_SECONDS = 30.0
SAMPLES_SECONDS = 60.0
# rate() divides by the whole window, so it reads true only once the window is full of samples:
# a short window with one-second scrapes fills in seconds.
WINDOW = "4s"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def pool(url: str | None = None) -> PoolConfig:
    return PoolConfig(
        instance_pool_id="ocid1.instancepool.oc1..web",
        region="us-ashburn-1",
        monitoring_method="prometheus",
        cpu_threshold=80,
        ram_threshold=80,
        scaling_limits=ScalingLimits(min=1, max=4),
        name="web",
        prometheus_url=url,
    )


@pytest.fixture(scope="module")
def exporters() -> Iterator[dict[str, NodeExporterStandIn]]:
    with (
        NodeExporterStandIn(cpu_percent=90, memory_percent=40) as busy,
        NodeExporterStandIn(cpu_percent=30, memory_percent=70) as calm,
    ):
        yield {"web-1": busy, "web-2": calm}


@pytest.fixture(scope="module")
def prometheus(
    exporters: dict[str, NodeExporterStandIn], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    if not Path(PROMETHEUS).exists():
        pytest.skip(
            "the prometheus binary is missing (apt-get install -y prometheus); "
            "the collector is tested against a real server only"
        )
    directory = tmp_path_factory.mktemp("prometheus")
    targets = "\n".join(
        f"      - targets: ['{exporter.address}']\n        labels: {{instance: '{host}:9100'}}"
        for host, exporter in exporters.items()
    )
    config = directory / "prometheus.yml"
    config.write_text(
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
        f"scrape_configs:\n  - job_name: node\n    static_configs:\n{targets}\n"
    )
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with open(directory / "prometheus.log", "wb") as log:
        process = subprocess.Popen(
            [PROMETHEUS, f"--config.file={config}", f"--storage.tsdb.path={directory / 'data'}",
             f"--web.listen-address=127.0.0.1:{port}"],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    try:
        _wait_ready(url, process)
        _wait_for_full_window(url, targets=len(exporters))
        yield url
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_ready(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + READY_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("prometheus exited at start")
        with (
            contextlib.suppress(OSError),
            urllib.request.urlopen(f"{url}/-/ready", timeout=1) as answer,  # noqa: S310
        ):
            if answer.status == 200:
                return
        time.sleep(0.1)
    raise RuntimeError("prometheus was not ready in time")


def _wait_for_full_window(url: str, *, targets: int) -> None:
    """Poll (never a fixed sleep) until every target has a window and a bit of samples."""
    query = urllib.parse.urlencode({"query": "count_over_time(up[6s]) >= 6"})
    deadline = time.monotonic() + SAMPLES_SECONDS
    while time.monotonic() < deadline:
        with urllib.request.urlopen(f"{url}/api/v1/query?{query}", timeout=2) as answer:  # noqa: S310
            if len(json.load(answer)["data"]["result"]) == targets:
                return
        time.sleep(0.25)
    raise RuntimeError("prometheus did not scrape the exporters in time")


def test_cpu_and_memory_per_instance_come_from_node_exporter_metrics(prometheus: str) -> None:
    collector = collector_for("prometheus", url=prometheus, window=WINDOW)
    assert isinstance(collector, PrometheusMetricsCollector)

    metrics = collector.collect(pool())

    by_host = {entry.instance_id: entry for entry in metrics.instances}
    assert sorted(by_host) == ["web-1", "web-2"]
    assert by_host["web-1"].cpu == pytest.approx(90, abs=3)
    assert by_host["web-2"].cpu == pytest.approx(30, abs=3)
    assert by_host["web-1"].ram == pytest.approx(40, abs=0.01)
    assert by_host["web-2"].ram == pytest.approx(70, abs=0.01)
    assert metrics.avg_cpu == pytest.approx(60, abs=3)
    assert metrics.avg_ram == pytest.approx(55, abs=0.01)


def test_the_pools_own_instances_are_matched_by_host_name_and_a_missing_one_is_silent(
    prometheus: str,
) -> None:
    members = [
        Instance(id="ocid1.instance.oc1..one", state="Running", display_name="web-1"),
        Instance(id="ocid1.instance.oc1..three", state="Running", display_name="web-3"),
    ]
    collector = PrometheusMetricsCollector(instances=lambda config: members, window=WINDOW)

    metrics = collector.collect(pool(url=prometheus))

    assert [entry.instance_id for entry in metrics.instances] == [m.id for m in members]
    assert metrics.silent_instances == ("ocid1.instance.oc1..three",)
    assert metrics.avg_cpu == pytest.approx(90, abs=3)


def test_a_prometheus_that_does_not_answer_is_a_collection_error() -> None:
    url = f"http://127.0.0.1:{free_port()}"

    with pytest.raises(CollectionError) as failed:
        PrometheusMetricsCollector(url=url, timeout=2).collect(pool())

    assert str(failed.value).startswith(f"pool web: Prometheus at {url} did not answer: ")


def test_a_pool_without_a_prometheus_address_is_refused_clearly() -> None:
    with pytest.raises(CollectionError) as failed:
        PrometheusMetricsCollector().collect(pool())

    assert str(failed.value) == (
        "pool web: monitoring_method prometheus needs a prometheus_url (or a default)"
    )


@pytest.mark.parametrize(
    ("label", "host"),
    [
        ("web-1:9100", "web-1"),
        ("10.0.0.5:9100", "10.0.0.5"),
        ("[::1]:9100", "::1"),
        ("web-1", "web-1"),
    ],  # fmt: skip
)
def test_the_instance_label_is_read_as_a_host_name(label: str, host: str) -> None:
    assert host_of(label) == host
