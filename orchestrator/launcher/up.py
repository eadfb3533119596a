"""The `dagyard up` flow: lock the data directory, start Redis, prepare the database, start the
worker, beat and web processes, wait until they answer, print where everything is, and stop it
all cleanly on Ctrl-C or SIGTERM."""

from __future__ import annotations

import fcntl
import json
import os
import secrets
import signal
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from orchestrator.environment import (
    RUNTIME_FILE,
    ConfigError,
    read_runtime,
    redact_url,
    validate_redis_url,
    write_private_file,
)
from orchestrator.launcher.embedded_redis import EmbeddedRedis, resolve_binary
from orchestrator.launcher.ports import port_is_free
from orchestrator.launcher.supervisor import Child, Supervisor, child_popen_options

ALREADY_RUNNING = "Dagyard is already running from {data_dir} (pid {pid}{web})"
PORT_TAKEN = "port {port} on {host} is already in use - choose another with --port"
NOT_HEALTHY = "{what} did not become ready within {seconds:.0f} s - see {log}"
REDIS_UNREACHABLE = "REDIS_URL points at {url}, which does not answer: {reason}"
ADMIN_USERNAME = "admin"


class LaunchError(RuntimeError):
    """Something stops `dagyard up` from starting; the message is one line for the user."""


@dataclass(frozen=True)
class UpOptions:
    data_dir: Path
    host: str = "127.0.0.1"
    port: int = 8000
    web: bool = True
    beat: bool = True
    workers: int = 1
    concurrency: int = 2
    redis_server: str = "bundled"
    extra_queues: tuple[str, ...] = ()
    ready_timeout: float = 60.0
    stop_timeout: float = 20.0


@dataclass(frozen=True)
class AdminCredentials:
    username: str
    password: str


def hold_data_dir_lock(data_dir: Path):
    """An exclusive lock for the launcher's lifetime: one `up` per data directory."""
    data_dir.mkdir(parents=True, exist_ok=True)
    handle = open(data_dir / "up.lock", "a+")  # noqa: SIM115 - held open until exit
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        runtime = read_runtime(data_dir) or {}
        web = f", web at {runtime['web_url']}" if runtime.get("web_url") else ""
        handle.close()
        raise LaunchError(
            ALREADY_RUNNING.format(data_dir=data_dir, pid=runtime.get("pid", "?"), web=web)
        ) from None
    return handle


def prepare_database() -> AdminCredentials | None:
    """Apply migrations; create an admin user with a one-time password if there is none."""
    from django.contrib.auth import get_user_model
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)
    users = get_user_model()
    if users.objects.filter(is_superuser=True).exists():
        return None
    password = secrets.token_urlsafe(12)
    users.objects.create_superuser(username=ADMIN_USERNAME, email="", password=password)
    return AdminCredentials(ADMIN_USERNAME, password)


def load_workflows() -> str:
    """Declare periodic tasks and load the workflow folder, as `dagyard sync` does."""
    from django.conf import settings

    from dags.services.definitions import sync_folder
    from orchestrator.periodic import ensure_periodic_tasks

    ensure_periodic_tasks()
    folder = settings.DAGYARD_DAGS_DIR
    if not folder.is_dir():
        return f"none (no workflow folder at {folder}; set DAGYARD_DAGS_DIR)"
    report = sync_folder(folder)
    line = f"{len(report.saved) + len(report.unchanged)} DAG(s) from {folder}"
    if report.errors:
        line += f"; {len(report.errors)} file(s) refused (run `dagyard sync` to see why)"
    return line


def child_environment(options: UpOptions, redis_url: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "DAGYARD_DATA_DIR": str(options.data_dir),
            "REDIS_URL": redis_url,
            "DJANGO_SETTINGS_MODULE": "orchestrator.settings",
            "PYTHONUNBUFFERED": "1",
        }
    )
    return env


def build_children(options: UpOptions, env: dict[str, str], queues: tuple[str, ...]) -> list[Child]:
    python = sys.executable
    logs = options.data_dir / "logs"
    run = options.data_dir / "run"
    run.mkdir(parents=True, exist_ok=True)
    children: list[Child] = []
    if options.web:
        children.append(
            Child(
                "web",
                [
                    python, "-m", "gunicorn", "orchestrator.wsgi:application",
                    "--bind", f"{options.host}:{options.port}",
                    "--workers", "2", "--threads", "4",
                    "--graceful-timeout", str(int(options.stop_timeout)),
                    "--access-logfile", "-",
                ],
                logs / "web.log", env, stop_order=0,
            )
        )  # fmt: skip
    if options.beat:
        children.append(
            Child(
                "beat",
                [
                    python, "-m", "celery", "-A", "orchestrator", "beat",
                    "--loglevel", "INFO", "--pidfile", str(run / "beat.pid"),
                ],
                logs / "beat.log", env, stop_order=0,
            )
        )  # fmt: skip
    for index in range(1, options.workers + 1):
        children.append(
            Child(
                f"worker-{index}",
                [
                    python, "-m", "celery", "-A", "orchestrator", "worker",
                    "--hostname", f"worker{index}@%h",
                    "--queues", ",".join(queues),
                    "--concurrency", str(options.concurrency),
                    "--loglevel", "INFO",
                    "--without-gossip", "--without-mingle",
                ],
                logs / f"worker-{index}.log", env, stop_order=1,
            )
        )  # fmt: skip
    return children


def wait_for_web(url: str, deadline: float) -> bool:
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url + "healthz", timeout=2) as answer:  # noqa: S310
                if answer.status == 200:
                    return True
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.2)
    return False


def point_celery_at(redis_url: str) -> None:
    """The launcher loaded its settings before it knew the embedded Redis's port; its own Celery
    client (used only to ping the workers it started) must talk to that Redis."""
    from orchestrator.celery import app

    app.conf.update(broker_url=redis_url, result_backend=redis_url)


def wait_for_workers(count: int, deadline: float) -> bool:
    from orchestrator.celery import app

    while time.monotonic() < deadline:
        if len(app.control.ping(timeout=1.0)) >= count:
            return True
    return False


def check_external_redis(url: str) -> None:
    from orchestrator.health import check_redis

    validate_redis_url(url)
    result = check_redis(url)
    if not result.ok:
        raise ConfigError(REDIS_UNREACHABLE.format(url=redact_url(url), reason=result.detail))


def summary(
    options: UpOptions,
    *,
    web_url: str | None,
    redis_line: str,
    admin: AdminCredentials | None,
    workflows: str,
) -> str:
    from django.conf import settings

    from orchestrator.health import describe_database

    lines = ["Dagyard is up."]
    if web_url:
        lines.append(f"  web       {web_url}")
    if admin:
        credentials = f"{admin.username} / {admin.password}"
        lines.append(f"  admin     {credentials}   (shown once - change it in the admin)")
    lines.append(f"  database  {describe_database()}")
    lines.append(f"  redis     {redis_line}")
    processes = [f"{options.workers} worker(s) x {options.concurrency}"]
    if options.beat:
        processes.append("beat")
    queues = ",".join((*settings.TASK_QUEUES, *options.extra_queues))
    lines.append(f"  runs      {', '.join(processes)} on queues {queues}")
    lines.append(f"  dags      {workflows}")
    lines.append(f"  data      {options.data_dir}")
    lines.append(f"  logs      {options.data_dir / 'logs'}")
    lines.append("Press Ctrl-C to stop.")
    return "\n".join(lines)


def run_up(options: UpOptions, say: Callable[[str], None]) -> int:
    """Start everything, block until asked to stop, stop everything. Returns the exit code."""
    from django.conf import settings

    stop = threading.Event()
    previous = {
        sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGINT, signal.SIGTERM)
    }
    lock = hold_data_dir_lock(options.data_dir)
    redis_server: EmbeddedRedis | None = None
    supervisor: Supervisor | None = None
    runtime_path = options.data_dir / RUNTIME_FILE
    try:
        if options.web and not port_is_free(options.port, options.host):
            raise LaunchError(PORT_TAKEN.format(port=options.port, host=options.host))
        external = os.environ.get("REDIS_URL")
        if external:
            check_external_redis(external)
            redis_url, redis_line = external, f"{redact_url(external)} (REDIS_URL)"
        else:
            redis_server = EmbeddedRedis(
                binary=resolve_binary(options.redis_server),
                directory=options.data_dir / "redis",
                log_path=options.data_dir / "logs" / "redis.log",
            )
            redis_server.start(**child_popen_options())
            redis_url = redis_server.url
            redis_line = f"embedded on 127.0.0.1:{redis_server.port} ({redis_server.binary})"
        admin = prepare_database()
        workflows = load_workflows()
        web_url = f"http://{options.host}:{options.port}/" if options.web else None
        write_private_file(
            runtime_path,
            json.dumps(
                {
                    "pid": os.getpid(),
                    "redis_url": None if external else redis_url,
                    "web_url": web_url,
                    "started_at": time.time(),
                }
            ),
        )
        point_celery_at(redis_url)
        env = child_environment(options, redis_url)
        queues = (*settings.TASK_QUEUES, *options.extra_queues)
        supervisor = Supervisor(build_children(options, env, queues), say)
        supervisor.start_all()
        deadline = time.monotonic() + options.ready_timeout
        logs = options.data_dir / "logs"
        if web_url and not wait_for_web(web_url, deadline):
            raise LaunchError(
                NOT_HEALTHY.format(what="the web server", seconds=options.ready_timeout, log=logs)
            )
        if options.workers and not wait_for_workers(options.workers, deadline):
            raise LaunchError(
                NOT_HEALTHY.format(what="the workers", seconds=options.ready_timeout, log=logs)
            )
        say(
            summary(
                options,
                web_url=web_url,
                redis_line=redis_line,
                admin=admin,
                workflows=workflows,
            )
        )
        while not stop.wait(0.5):
            supervisor.watch_once()
        say("Stopping Dagyard...")
        return 0
    finally:
        if supervisor is not None:
            supervisor.stop_all(options.stop_timeout)
        if redis_server is not None:
            redis_server.stop()
        runtime_path.unlink(missing_ok=True)
        lock.close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
