"""Settings read from the environment: defaults that work, and one clear line for bad values."""

from __future__ import annotations

import json
import stat

import pytest

from orchestrator import environment as env


def test_redacted_address_hides_the_password_but_keeps_host_port_and_database():
    redacted = env.redact_url("postgres://app:s3cret@db.example:5433/dagyard")
    assert redacted == "postgres://app:***@db.example:5433/dagyard"
    assert env.redact_url("redis://127.0.0.1:6379/0") == "redis://127.0.0.1:6379/0"
    assert env.redact_url("redis://:pw@127.0.0.1:7000/2") == "redis://:***@127.0.0.1:7000/2"


def test_database_url_with_an_unknown_scheme_names_the_variable_without_the_password():
    with pytest.raises(env.ConfigError) as raised:
        env.database_settings("mysql://root:hunter2@127.0.0.1/app")
    assert str(raised.value) == (
        "DATABASE_URL is not a database address Dagyard can use (mysql://root:***@127.0.0.1/app): "
        "the scheme 'mysql' is not one of sqlite, postgres"
    )


def test_in_memory_sqlite_is_refused_because_processes_cannot_share_it():
    with pytest.raises(env.ConfigError, match="an in-memory database cannot be shared"):
        env.database_settings("sqlite://:memory:")


def test_postgres_address_without_a_database_name_is_refused():
    with pytest.raises(env.ConfigError, match="it names no database"):
        env.database_settings("postgres://user@127.0.0.1:5432")


def test_sqlite_is_set_up_for_several_writers(tmp_path):
    config = env.database_settings(f"sqlite:///{tmp_path / 'db.sqlite3'}")
    assert config["OPTIONS"]["transaction_mode"] == "IMMEDIATE"
    assert "journal_mode=WAL" in config["OPTIONS"]["init_command"]
    assert config["OPTIONS"]["timeout"] >= 10


def test_secret_key_is_generated_once_kept_private_and_reused(tmp_path, monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    first = env.secret_key(debug=True, directory=tmp_path)
    second = env.secret_key(debug=True, directory=tmp_path)
    assert first == second
    assert len(first) >= 50
    mode = stat.S_IMODE((tmp_path / env.SECRET_KEY_FILE).stat().st_mode)
    assert mode == 0o600


def test_secret_key_is_required_when_debug_is_off(tmp_path, monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    with pytest.raises(env.ConfigError) as raised:
        env.secret_key(debug=False, directory=tmp_path)
    assert str(raised.value) == env.SECRET_KEY_REQUIRED
    assert not (tmp_path / env.SECRET_KEY_FILE).exists()


def test_a_flag_that_is_neither_true_nor_false_is_an_error(monkeypatch):
    monkeypatch.setenv("DEBUG", "maybe")
    with pytest.raises(env.ConfigError, match="DEBUG must be true or false, not 'maybe'"):
        env.env_flag("DEBUG", default=True)


def test_broker_comes_from_redis_url_then_the_running_launcher_then_nowhere(tmp_path, monkeypatch):
    monkeypatch.delenv("REDIS_URL", raising=False)
    nothing = env.broker_target(tmp_path)
    assert nothing.source == "embedded (not running)"

    (tmp_path / env.RUNTIME_FILE).write_text(json.dumps({"redis_url": "redis://:pw@127.0.0.1:4/0"}))
    embedded = env.broker_target(tmp_path)
    assert (embedded.url, embedded.source) == ("redis://:pw@127.0.0.1:4/0", "embedded")
    assert embedded.display == "redis://:***@127.0.0.1:4/0"

    monkeypatch.setenv("REDIS_URL", "redis://cache.internal:6380/1")
    configured = env.broker_target(tmp_path)
    assert (configured.url, configured.source) == ("redis://cache.internal:6380/1", "REDIS_URL")


def test_a_redis_url_with_the_wrong_scheme_is_refused(monkeypatch, tmp_path):
    monkeypatch.setenv("REDIS_URL", "http://127.0.0.1:6379")
    with pytest.raises(env.ConfigError, match="REDIS_URL is not a Redis address"):
        env.broker_target(tmp_path)
