"""Bad configuration ends a command with one line that names the variable, not a traceback."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import REPO_ROOT, process_environment


def run_dagyard(*args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "orchestrator.cli", *args],
        cwd=REPO_ROOT, env=process_environment(**env), capture_output=True, text=True, timeout=60,
    )  # fmt: skip


def test_bad_database_url_gives_one_line_without_the_password_and_exit_2():
    result = run_dagyard("doctor", DATABASE_URL="mysql://root:hunter2@db.internal/app")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "dagyard: DATABASE_URL is not a database address Dagyard can use "
        "(mysql://root:***@db.internal/app): the scheme 'mysql' is not one of sqlite, postgres"
    ]
    assert "hunter2" not in result.stderr + result.stdout


def test_debug_off_without_secret_key_is_one_clear_line():
    result = run_dagyard("doctor", DEBUG="false", SECRET_KEY="")
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "dagyard: SECRET_KEY must be set when DEBUG is off (generate one and keep it secret)"
    )


def test_up_with_an_unreachable_redis_url_names_it_without_its_password(tmp_path):
    result = run_dagyard(
        "up", "--data-dir", str(tmp_path / "data"), "--no-web",
        REDIS_URL="redis://:letmein@127.0.0.1:1/0",
    )  # fmt: skip
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(
        "CommandError: REDIS_URL points at redis://:***@127.0.0.1:1/0, which does not answer:"
    )
    assert "letmein" not in result.stderr + result.stdout
    assert "Traceback" not in result.stderr


def test_manage_py_is_the_same_command():
    result = subprocess.run(
        [sys.executable, "manage.py", "help", "up"],
        cwd=REPO_ROOT, env=process_environment(), capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0
    assert "--no-beat" in result.stdout
    assert "--workers" in result.stdout
