"""Loaded by pytest before Django (`-p tests.services` in pyproject.toml), because settings read
DAGYARD_DATA_DIR and REDIS_URL once, at import.

Tests never touch the user's data directory: each session gets a temporary one. Redis is the
real thing: REDIS_URL when the caller sets it (CI's second pass uses the machine's Redis),
otherwise the embedded redis-server that `dagyard up` uses, on a free port, for this session only.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path

import redis


def _prepare() -> None:
    # A busy host is checked again after this many seconds (5 in production): tests wait less.
    os.environ.setdefault("DAGYARD_RESOURCE_POLL_SECONDS", "0.3")
    if not os.environ.get("DAGYARD_DATA_DIR"):
        directory = tempfile.mkdtemp(prefix="dagyard-test-")
        os.environ["DAGYARD_DATA_DIR"] = directory
        atexit.register(shutil.rmtree, directory, ignore_errors=True)
    data_dir = Path(os.environ["DAGYARD_DATA_DIR"])
    if not os.environ.get("REDIS_URL"):
        from orchestrator.launcher.embedded_redis import BUNDLED, EmbeddedRedis, resolve_binary

        server = EmbeddedRedis(
            binary=resolve_binary(BUNDLED),
            directory=data_dir / "test-redis",
            log_path=data_dir / "logs" / "test-redis.log",
        )
        server.start()
        atexit.register(server.stop)
        os.environ["REDIS_URL"] = server.url
    # Messages left by an earlier, interrupted session would reach this session's worker.
    client = redis.Redis.from_url(os.environ["REDIS_URL"])
    client.flushdb()
    client.close()


_prepare()
