"""A Celery worker pool on this machine: the ``local`` provider.

A local pool's ``instance_pool_id`` is a Celery queue; its size is the number of worker processes
Dagyard started for that queue and that are still alive. Growing starts
``python -m celery -A orchestrator worker -Q <queue> --hostname pool-<queue>-<n>@%h`` in its own
session; shrinking sends SIGTERM to the newest, which lets Celery finish its running task first
(a warm shutdown) and is counted out of the size at once.

The workers are tracked in a small JSON file per queue (pid, process start time, hostname), under
a file lock so two evaluations never start the same worker twice. A pid is believed only while
the process with that pid still has the recorded start time, so a recycled pid is never counted
or signalled.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import psutil

from autoscaler.pool_config import PoolConfig
from autoscaler.providers.base import Instance, ProviderError, check_size

ERR_BAD_QUEUE = (
    "pool {pool}: {queue!r} is not a Celery queue name a local worker can serve "
    "(letters, digits, '.', '_' and '-')"
)
ERR_START_FAILED = "pool {pool}: could not start a worker for queue {queue}: {error}"

_QUEUE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$")
# Start times read back from /proc can differ from psutil's first reading by a tick.
_START_TIME_TOLERANCE = 1.0


@dataclass(frozen=True)
class LocalWorker:
    """One worker process Dagyard started for a queue."""

    number: int
    pid: int
    hostname: str
    started: float
    stopping: bool = False


def worker_hostname(queue: str, number: int) -> str:
    """The Celery node name of worker ``number`` of ``queue`` (``%h`` expanded)."""
    return f"pool-{queue}-{number}@{socket.gethostname()}"


class LocalWorkerPool:
    """The :class:`~autoscaler.providers.base.Provider` for Celery worker pools on this machine."""

    def __init__(
        self,
        *,
        state_dir: Path,
        cwd: Path,
        env: Mapping[str, str] | None = None,
        concurrency: int = 1,
        celery_app: str = "orchestrator",
        extra_arguments: Sequence[str] = (
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ),
    ) -> None:
        self._state_dir = state_dir
        self._cwd = cwd
        self._env = dict(os.environ if env is None else env)
        self._concurrency = concurrency
        self._celery_app = celery_app
        self._extra_arguments = tuple(extra_arguments)

    # -- the provider interface --------------------------------------------------------------

    def current_size(self, pool: PoolConfig) -> int:
        return self.size_of(self._queue(pool))

    def set_size(self, pool: PoolConfig, size: int) -> None:
        check_size(pool, size)
        try:
            self.resize(self._queue(pool), size)
        except OSError as error:
            raise ProviderError(
                ERR_START_FAILED.format(pool=pool.label, queue=pool.instance_pool_id, error=error)
            ) from error

    def list_instances(self, pool: PoolConfig) -> list[Instance]:
        host = socket.gethostname()
        return [
            Instance(id=worker.hostname, state="running", display_name=host)
            for worker in self.workers(self._queue(pool))
        ]

    # -- queue-level operations (worker pools on queue depth use these directly) -------------

    def workers(self, queue: str) -> list[LocalWorker]:
        """The live, not stopping, workers of ``queue``, oldest first."""
        with self._locked(queue):
            return [worker for worker in self._live(queue) if not worker.stopping]

    def size_of(self, queue: str) -> int:
        return len(self.workers(queue))

    def resize(self, queue: str, size: int) -> int:
        """Start or stop workers until ``size`` serve ``queue``; returns the change made."""
        with self._locked(queue):
            workers = self._live(queue)
            serving = [worker for worker in workers if not worker.stopping]
            change = size - len(serving)
            if change > 0:
                number = max((worker.number for worker in workers), default=0)
                for _ in range(change):
                    number += 1
                    workers.append(self._start(queue, number))
            for worker in sorted(serving, key=lambda w: w.number, reverse=True)[: max(0, -change)]:
                _signal(worker, signal.SIGTERM)
                workers[workers.index(worker)] = LocalWorker(**{**asdict(worker), "stopping": True})
            self._save(queue, workers)
            return change

    def stop_all(self, queue: str, *, timeout: float = 20.0) -> None:
        """Stop every worker of ``queue`` and wait for them; the ones that linger are killed."""
        with self._locked(queue):
            workers = self._live(queue)
            for worker in workers:
                _signal(worker, signal.SIGTERM)
            deadline = time.monotonic() + timeout
            while any(_alive(w) for w in workers) and time.monotonic() < deadline:
                _reap(workers)
                time.sleep(0.1)
            for worker in workers:
                if _alive(worker):
                    _signal(worker, signal.SIGKILL)
            _reap(workers)
            self._save(queue, [])

    # -- internals ---------------------------------------------------------------------------

    def _queue(self, pool: PoolConfig) -> str:
        queue = pool.instance_pool_id
        if not _QUEUE_NAME.match(queue):
            raise ProviderError(ERR_BAD_QUEUE.format(pool=pool.label, queue=queue))
        return queue

    def _start(self, queue: str, number: int) -> LocalWorker:
        if not _QUEUE_NAME.match(queue):
            raise ValueError(ERR_BAD_QUEUE.format(pool=queue, queue=queue))
        log_path = self._state_dir / "logs" / f"pool-{queue}-{number}.log"
        log_path.parent.mkdir(parents=True, exist_ok=True)
        command = [
            sys.executable, "-m", "celery", "-A", self._celery_app, "worker",
            "-Q", queue,
            "--hostname", f"pool-{queue}-{number}@%h",
            "--concurrency", str(self._concurrency),
            "--loglevel", "INFO",
            *self._extra_arguments,
        ]  # fmt: skip
        with open(log_path, "ab") as log:
            process = subprocess.Popen(
                command,
                cwd=self._cwd,
                env=self._env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        started = psutil.Process(process.pid).create_time()
        return LocalWorker(
            number=number,
            pid=process.pid,
            hostname=worker_hostname(queue, number),
            started=started,
        )

    def _state_path(self, queue: str) -> Path:
        return self._state_dir / f"{queue}.json"

    def _live(self, queue: str) -> list[LocalWorker]:
        path = self._state_path(queue)
        try:
            entries = json.loads(path.read_text())
        except (FileNotFoundError, ValueError):
            return []
        workers = [LocalWorker(**entry) for entry in entries]
        _reap(workers)
        return [worker for worker in workers if _alive(worker)]

    def _save(self, queue: str, workers: list[LocalWorker]) -> None:
        path = self._state_path(queue)
        temporary = path.with_name(f".{path.name}.tmp")
        temporary.write_text(json.dumps([asdict(worker) for worker in workers]))
        os.replace(temporary, path)

    @contextlib.contextmanager
    def _locked(self, queue: str) -> Iterator[None]:
        self._state_dir.mkdir(parents=True, exist_ok=True)
        with open(self._state_dir / f"{queue}.lock", "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)


def _alive(worker: LocalWorker) -> bool:
    try:
        process = psutil.Process(worker.pid)
        if abs(process.create_time() - worker.started) > _START_TIME_TOLERANCE:
            return False  # the pid was recycled by an unrelated process
        return bool(process.status() != psutil.STATUS_ZOMBIE)
    except psutil.Error:
        return False


def _reap(workers: list[LocalWorker]) -> None:
    """Collect the exit status of workers this process started, so none stays a zombie."""
    for worker in workers:
        with contextlib.suppress(ChildProcessError, OSError):
            os.waitpid(worker.pid, os.WNOHANG)


def _signal(worker: LocalWorker, signum: int) -> None:
    if not _alive(worker):
        return
    # Each worker leads its own session, so its prefork children get the signal too.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(worker.pid, signum)
