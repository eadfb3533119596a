"""Checks that the database and Redis answer, shared by /healthz, `dagyard doctor` and `up`."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from functools import lru_cache

import redis
from django.conf import settings
from django.db import DatabaseError, connection

from orchestrator.environment import redact_url

REDIS_TIMEOUT_SECONDS = 2.0
REDIS_NOT_RUNNING = "the embedded Redis is not running (start it with `dagyard up`)"


@dataclass(frozen=True, slots=True)
class CheckResult:
    name: str
    ok: bool
    target: str
    detail: str
    milliseconds: float

    def as_dict(self) -> dict:
        return asdict(self)


def describe_database() -> str:
    """The database in use, without its password."""
    config = settings.DATABASES["default"]
    vendor = connection.vendor
    if vendor == "sqlite":
        return f"sqlite {config['NAME']}"
    host = config.get("HOST") or "local socket"
    port = f":{config['PORT']}" if config.get("PORT") else ""
    return f"{vendor} {config.get('USER') or ''}@{host}{port}/{config['NAME']}".replace(" @", " ")


def check_database() -> CheckResult:
    started = time.perf_counter()
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError as error:
        connection.close()  # a broken connection must not be reused by the next request
        return CheckResult(
            "database", False, describe_database(), _one_line(error), _since(started)
        )
    return CheckResult("database", True, describe_database(), "answers", _since(started))


@lru_cache(maxsize=4)
def _redis_client(url: str) -> redis.Redis:
    return redis.Redis.from_url(
        url,
        socket_timeout=REDIS_TIMEOUT_SECONDS,
        socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
    )


def check_redis(url: str | None = None) -> CheckResult:
    url = url or settings.REDIS_URL
    target = redact_url(url)
    started = time.perf_counter()
    if url == settings.REDIS_URL and settings.BROKER.source == "embedded (not running)":
        return CheckResult("redis", False, "embedded", REDIS_NOT_RUNNING, 0.0)
    try:
        info = _redis_client(url).info("server")
    except redis.RedisError as error:
        return CheckResult("redis", False, target, _one_line(error), _since(started))
    version = info.get("redis_version", "unknown")
    return CheckResult("redis", True, target, f"answers (Redis {version})", _since(started))


def _since(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 1)


def _one_line(error: BaseException) -> str:
    text = " ".join(str(error).split()) or type(error).__name__
    return text[:300]
