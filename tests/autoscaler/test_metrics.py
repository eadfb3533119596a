"""``/metrics``: desired workers from the live queue depth in the session's real Redis."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
import redis
from django.conf import settings
from django.test import Client

from autoscaler.models import WorkerPool
from autoscaler.services.workers import queue_depths
from dags.models import Dag, DagRun, NodeRun
from orchestrator.celery import app

pytestmark = pytest.mark.django_db


@pytest.fixture
def idle_queue() -> Iterator[str]:
    """A queue no worker consumes, removed from Redis afterwards."""
    name = f"metrics-test-{uuid.uuid4().hex[:8]}"
    yield name
    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    client.delete(name)
    client.close()


def fill(queue: str, messages: int) -> None:
    for number in range(messages):
        app.send_task("autoscaler.never_run", args=[number], queue=queue)


def test_queue_depth_is_read_from_the_brokers_list(idle_queue: str) -> None:
    fill(idle_queue, 5)

    assert queue_depths([idle_queue]) == {idle_queue: 5}


def test_metrics_export_desired_workers_from_the_live_queue_depth(
    client: Client, idle_queue: str
) -> None:
    WorkerPool.objects.create(worker_type=idle_queue, min_workers=0, max_workers=4, factor=6)
    WorkerPool.objects.create(worker_type=f"{idle_queue}-gpu", min_workers=1, max_workers=7)
    fill(idle_queue, 18)

    answer = client.get("/metrics")

    assert answer.status_code == 200
    assert answer["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
    text = answer.content.decode()
    assert (
        "# HELP orchestrator_desired_workers Workers each worker type (Celery queue) needs for "
        "its current queue depth.\n"
        "# TYPE orchestrator_desired_workers gauge\n"
        f'orchestrator_desired_workers{{worker_type="{idle_queue}"}} 3\n'
        f'orchestrator_desired_workers{{worker_type="{idle_queue}-gpu"}} 1\n'
        "# HELP orchestrator_queue_depth"
    ) in text
    assert f'orchestrator_queue_depth{{queue="{idle_queue}"}} 18\n' in text
    assert f'orchestrator_queue_depth{{queue="{idle_queue}-gpu"}} 0\n' in text
    for queue in settings.TASK_QUEUES:
        assert f'orchestrator_queue_depth{{queue="{queue}"}} ' in text


def test_metrics_count_runs_and_nodes_by_state(client: Client) -> None:
    dag = Dag.objects.create(name="counted", definition={}, folder="/tmp")
    running = DagRun.objects.create(dag=dag, state="running", definition={}, folder="/tmp")
    DagRun.objects.create(dag=dag, state="failed", definition={}, folder="/tmp")
    NodeRun.objects.create(run=running, node_id="a", state="succeeded")
    NodeRun.objects.create(run=running, node_id="b", state="running")
    NodeRun.objects.create(run=running, node_id="c", state="running")

    text = client.get("/metrics").content.decode()

    assert 'dagyard_dag_runs{state="running"} 1\n' in text
    assert 'dagyard_dag_runs{state="failed"} 1\n' in text
    assert 'dagyard_dag_runs{state="succeeded"} 0\n' in text
    assert 'dagyard_node_runs{state="running"} 2\n' in text
    assert 'dagyard_node_runs{state="succeeded"} 1\n' in text
    assert 'dagyard_node_runs{state="upstream_failed"} 0\n' in text
    assert (
        'dagyard_agent_nodes{liveness="never_seen"} 0\n'
        'dagyard_agent_nodes{liveness="online"} 0\n'
        'dagyard_agent_nodes{liveness="lost"} 0\n'
    ) in text


def test_with_a_metrics_token_set_scrapers_must_send_it(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DAGYARD_METRICS_TOKEN", "scrape-secret")

    refused = client.get("/metrics")
    wrong = client.get("/metrics", headers={"Authorization": "Bearer nope"})
    allowed = client.get("/metrics", headers={"Authorization": "Bearer scrape-secret"})

    assert (refused.status_code, refused.content) == (
        401, b"send the metrics token as 'Authorization: Bearer <token>'\n",
    )  # fmt: skip
    assert wrong.status_code == 401
    assert allowed.status_code == 200
    assert b"# TYPE orchestrator_desired_workers gauge" in allowed.content
