"""The local provider really starts and stops Celery worker processes on the session's Redis."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import psutil
import pytest
import redis
from django.conf import settings

from autoscaler.cloud_access import local_worker_pool
from autoscaler.models import WorkerPool
from autoscaler.pool_config import PoolConfig, ScalingLimits
from autoscaler.providers.base import Provider, ProviderError
from autoscaler.providers.local import LocalWorkerPool, worker_hostname
from autoscaler.services.workers import queue_depths, scale_worker_pools
from orchestrator.celery import app

REPO_ROOT = Path(__file__).resolve().parents[2]
WAIT_SECONDS = 60.0


def wait_until(condition: Callable[[], bool], what: str, timeout: float = WAIT_SECONDS) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def answering(hostnames: list[str]) -> set[str]:
    replies = app.control.ping(destination=hostnames, timeout=0.5)
    return {name for reply in replies for name in reply}


@pytest.fixture
def queue() -> Iterator[str]:
    name = f"local-{uuid.uuid4().hex[:8]}"
    yield name
    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    client.delete(name)
    client.close()


@pytest.fixture
def workers(
    tmp_path: Path, test_database_url: str, monkeypatch: pytest.MonkeyPatch, queue: str
) -> Iterator[LocalWorkerPool]:
    monkeypatch.setenv("DATABASE_URL", test_database_url)
    provider = LocalWorkerPool(state_dir=tmp_path / "workers", cwd=REPO_ROOT)
    yield provider
    provider.stop_all(queue)


def local_pool(queue: str) -> PoolConfig:
    return PoolConfig(
        instance_pool_id=queue,
        region="",
        monitoring_method="local",
        cpu_threshold=80,
        ram_threshold=80,
        scaling_limits=ScalingLimits(min=0, max=3),
        name=f"workers-{queue}",
        provider="local",
    )


def test_growing_starts_workers_that_answer_ping_and_shrinking_stops_the_newest(
    workers: LocalWorkerPool, queue: str
) -> None:
    pool = local_pool(queue)
    assert isinstance(workers, Provider)

    workers.set_size(pool, 2)
    started = workers.workers(queue)
    names = [worker.hostname for worker in started]
    wait_until(lambda: answering(names) == set(names), "both workers to answer ping")
    workers.set_size(pool, 1)
    stopping = psutil.Process(started[1].pid)

    assert names == [worker_hostname(queue, 1), worker_hostname(queue, 2)]
    assert workers.current_size(pool) == 1
    assert [worker.hostname for worker in workers.workers(queue)] == names[:1]
    wait_until(lambda: not stopping.is_running() or stopping.status() == "zombie", "exit")
    assert answering(names) == {names[0]}
    assert [instance.id for instance in workers.list_instances(pool)] == names[:1]


def test_setting_the_same_size_twice_starts_nothing_more(
    workers: LocalWorkerPool, queue: str
) -> None:
    pool = local_pool(queue)

    workers.set_size(pool, 1)
    first = workers.workers(queue)
    workers.set_size(pool, 1)

    assert workers.workers(queue) == first


def test_a_worker_that_died_is_not_counted(workers: LocalWorkerPool, queue: str) -> None:
    pool = local_pool(queue)
    workers.set_size(pool, 1)
    [worker] = workers.workers(queue)

    psutil.Process(worker.pid).kill()
    wait_until(lambda: workers.current_size(pool) == 0, "the dead worker to be counted out")

    workers.set_size(pool, 1)
    [replacement] = workers.workers(queue)
    assert replacement.pid != worker.pid


def test_a_queue_name_that_is_not_safe_is_refused() -> None:
    provider = LocalWorkerPool(state_dir=Path("/nonexistent"), cwd=REPO_ROOT)

    with pytest.raises(ProviderError) as refused:
        provider.set_size(local_pool("bad queue;rm"), 1)

    assert str(refused.value) == (
        "pool workers-bad queue;rm: 'bad queue;rm' is not a Celery queue name a local worker can "
        "serve (letters, digits, '.', '_' and '-')"
    )


@pytest.mark.django_db(transaction=True)
def test_a_worker_pool_grows_with_its_queue_and_shrinks_when_it_drains(
    queue: str, test_database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", test_database_url)
    WorkerPool.objects.create(
        worker_type=queue, min_workers=0, max_workers=3, factor=6, scale_local_workers=True
    )
    for number in range(12):
        app.send_task("autoscaler.test_unregistered_task", args=[number], queue=queue)
    provider = local_worker_pool()
    try:
        [demand] = scale_worker_pools(now=_now())
        names = [worker.hostname for worker in provider.workers(queue)]
        # The workers drain the queue: an unregistered task's message is discarded.
        wait_until(lambda: queue_depths([queue])[queue] == 0, "the workers to drain the queue")
        [drained] = scale_worker_pools(now=_now())

        assert (demand.depth, demand.desired) == (12, 2)
        assert len(names) == 2
        assert (drained.depth, drained.desired) == (0, 0)
        assert provider.size_of(queue) == 0
        wait_until(lambda: not answering(names), "the stopped workers to go silent")
        pool = WorkerPool.objects.get()
        assert (pool.last_depth, pool.last_desired) == (0, 0)
    finally:
        provider.stop_all(queue)


def _now():  # type: ignore[no-untyped-def]
    from django.utils import timezone

    return timezone.now()


@pytest.mark.django_db
def test_a_schedule_drives_a_local_pool_to_its_target_with_real_workers(
    queue: str, test_database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import datetime as dt

    from autoscaler.models import Pool
    from autoscaler.services.pools import evaluate_schedules

    monkeypatch.setenv("DATABASE_URL", test_database_url)
    now = _now()
    window = {
        "name": "rush",
        "start_time": (now - dt.timedelta(hours=1)).strftime("%H:%M"),
        "end_time": (now + dt.timedelta(hours=1)).strftime("%H:%M"),
        "target_instances": 2,
    }
    Pool(name=queue, provider="local", instance_pool_id=queue, monitoring_method="local",
         cpu_threshold=80, ram_threshold=80, min_size=0, max_size=2,
         schedules=[window]).save()  # fmt: skip
    provider = local_worker_pool()
    try:
        [evaluation] = evaluate_schedules(now=now)
        names = [worker.hostname for worker in provider.workers(queue)]
        wait_until(lambda: answering(names) == set(names), "the scheduled workers to answer")

        assert (evaluation.outcome, evaluation.size_before, evaluation.size_after) == (
            "scale_up", 0, 2,
        )  # fmt: skip
        assert evaluate_schedules(now=now) == []  # at target: nothing to do, nothing recorded
    finally:
        provider.stop_all(queue)
