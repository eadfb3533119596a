"""Everything Dagyard reads from the environment, in one place.

Settings, the launcher, the CLI and the health checks all ask this module, so a variable is parsed
once, the same way everywhere, and a bad value fails with one line that names the variable.
Nothing here imports Django: the CLI uses it before Django is configured.
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

TRUE_WORDS = frozenset({"1", "true", "yes", "on"})
FALSE_WORDS = frozenset({"0", "false", "no", "off", ""})

BAD_BOOLEAN = "{name} must be true or false, not {value!r}"
BAD_DATABASE_URL = "DATABASE_URL is not a database address Dagyard can use ({url}): {reason}"
BAD_REDIS_URL = "REDIS_URL is not a Redis address ({url}): {reason}"
BAD_LOG_FORMAT = "DAGYARD_LOG_FORMAT must be plain or json, not {value!r}"
SECRET_KEY_REQUIRED = "SECRET_KEY must be set when DEBUG is off (generate one and keep it secret)"  # noqa: S105

SUPPORTED_DATABASE_SCHEMES = ("sqlite", "postgres", "postgresql", "pgsql")
SUPPORTED_REDIS_SCHEMES = ("redis", "rediss")

RUNTIME_FILE = "runtime.json"
SECRET_KEY_FILE = "secret_key"  # noqa: S105 - a file name


class ConfigError(Exception):
    """A setting is missing or malformed; the message is one line meant for the user."""


def env_flag(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    word = raw.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ConfigError(BAD_BOOLEAN.format(name=name, value=raw))


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


def data_dir() -> Path:
    """Where the embedded database, Redis data, logs and generated secrets live.

    The default does not depend on the working directory, so every `dagyard` command run from any
    terminal finds the system that `dagyard up` started.
    """
    configured = os.environ.get("DAGYARD_DATA_DIR")
    if configured:
        return Path(configured).expanduser().resolve()
    xdg = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(xdg) / "dagyard"


def write_private_file(path: Path, text: str) -> None:
    """Write a file only its owner can read, without a moment where it is world-readable."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    os.replace(tmp, path)


def secret_key(*, debug: bool, directory: Path) -> str:
    """SECRET_KEY from the environment; in development, generated once and kept on disk."""
    configured = os.environ.get("SECRET_KEY")
    if configured:
        return configured
    if not debug:
        raise ConfigError(SECRET_KEY_REQUIRED)
    path = directory / SECRET_KEY_FILE
    if path.exists():
        return path.read_text().strip()
    key = secrets.token_urlsafe(50)
    write_private_file(path, key)
    return key


def redact_url(url: str) -> str:
    """The address with any password replaced, fit for logs, pages and error messages."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparseable address>"
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{user}:***@{host}"
    try:
        port = parts.port
    except ValueError:
        port = None
    if port:
        netloc += f":{port}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def database_url(directory: Path) -> str:
    return os.environ.get("DATABASE_URL") or f"sqlite:///{directory / 'db.sqlite3'}"


def database_settings(url: str, *, sqlite_timeout: float = 30.0) -> dict:
    """Django's DATABASES['default'] for an address, with SQLite tuned for several writers."""
    import dj_database_url  # imported here so the CLI's first checks stay cheap

    scheme = url.split(":", 1)[0].lower()
    if scheme not in SUPPORTED_DATABASE_SCHEMES:
        reason = f"the scheme {scheme!r} is not one of sqlite, postgres"
        raise ConfigError(BAD_DATABASE_URL.format(url=redact_url(url), reason=reason))
    try:
        config = dict(dj_database_url.parse(url))
    except Exception as error:  # dj-database-url raises several types for bad input
        raise ConfigError(
            BAD_DATABASE_URL.format(url=redact_url(url), reason=str(error) or type(error).__name__)
        ) from error
    if config["ENGINE"].endswith("sqlite3"):
        name = str(config.get("NAME") or "")
        if not name or name == ":memory:":
            reason = "an in-memory database cannot be shared by the web server and the workers"
            raise ConfigError(BAD_DATABASE_URL.format(url=url, reason=reason))
        Path(name).parent.mkdir(parents=True, exist_ok=True)
        # WAL lets readers and one writer work at once; IMMEDIATE takes the write lock when a
        # transaction starts, so two writers queue on the busy timeout instead of failing with
        # "database is locked" when a read lock cannot be upgraded.
        config["OPTIONS"] = {
            "timeout": sqlite_timeout,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
        config["TEST"] = {"NAME": str(Path(name).with_name("test_" + Path(name).name))}
    else:
        if not config.get("NAME"):
            reason = "it names no database"
            raise ConfigError(BAD_DATABASE_URL.format(url=redact_url(url), reason=reason))
        config["CONN_MAX_AGE"] = 60
        config["CONN_HEALTH_CHECKS"] = True
    return config


@dataclass(frozen=True, slots=True)
class BrokerTarget:
    """The Redis that carries Dagyard's messages, and where that choice came from."""

    url: str
    source: str  # "REDIS_URL", "embedded" or "embedded (not running)"

    @property
    def display(self) -> str:
        return redact_url(self.url)


def read_runtime(directory: Path) -> dict | None:
    """What a running `dagyard up` published about itself, or None if nothing runs there."""
    path = directory / RUNTIME_FILE
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def broker_target(directory: Path) -> BrokerTarget:
    configured = os.environ.get("REDIS_URL")
    if configured:
        validate_redis_url(configured)
        return BrokerTarget(configured, "REDIS_URL")
    runtime = read_runtime(directory)
    if runtime and runtime.get("redis_url"):
        return BrokerTarget(runtime["redis_url"], "embedded")
    # Nothing runs: point at a port nobody listens on, so a command fails with a clear
    # "not running" message instead of silently talking to some other Redis on 6379.
    return BrokerTarget("redis://127.0.0.1:1/0", "embedded (not running)")


def validate_redis_url(url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in SUPPORTED_REDIS_SCHEMES:
        reason = f"the scheme {parts.scheme!r} is not redis or rediss"
        raise ConfigError(BAD_REDIS_URL.format(url=redact_url(url), reason=reason))
    try:
        parts.port  # noqa: B018 - raises ValueError for a malformed port
    except ValueError as error:
        raise ConfigError(BAD_REDIS_URL.format(url=redact_url(url), reason=str(error))) from error
    if not parts.hostname:
        raise ConfigError(BAD_REDIS_URL.format(url=redact_url(url), reason="it names no host"))


def log_format() -> str:
    value = os.environ.get("DAGYARD_LOG_FORMAT", "plain").strip().lower()
    if value not in ("plain", "json"):
        raise ConfigError(BAD_LOG_FORMAT.format(value=value))
    return value
