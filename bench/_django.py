"""Django for a benchmark: an isolated Dagyard in a temporary data directory, schema migrated.

A benchmark writes thousands of rows, so it never runs on a database that may hold real DAGs:
``setup_django`` always uses a fresh SQLite file in the data directory, whatever the shell's
``DATABASE_URL`` says. ``database_from_environment`` honours ``DATABASE_URL`` for the benchmarks
that compare engines, by creating a throwaway database beside the one it names (as the test
runner does, under a name of its own) and dropping it afterwards.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def configure(data_dir: Path, environment: dict[str, str]) -> None:
    """Point this process at ``data_dir`` with only the variables given, then set Django up."""
    for name in ("REDIS_URL", "DATABASE_URL"):
        os.environ.pop(name, None)
    os.environ.update(
        DAGYARD_DATA_DIR=str(data_dir),
        DJANGO_SETTINGS_MODULE="orchestrator.settings",
        DAGYARD_LOG_LEVEL="WARNING",
    )
    os.environ.update(environment)
    import django

    django.setup()


def setup_django(data_dir: Path, **environment: str) -> None:
    """Set Django up on a migrated SQLite in ``data_dir``, ignoring the shell's REDIS_URL and
    DATABASE_URL; ``environment`` adds variables (an embedded Redis's REDIS_URL, a stand-in's
    endpoint). Must run before anything imports Django models."""
    configure(data_dir, environment)
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


@contextmanager
def database_from_environment(data_dir: Path) -> Iterator[str]:
    """Set Django up on the shell's ``DATABASE_URL`` if it has one, in a throwaway database made
    beside the one it names and dropped on exit; otherwise on a migrated SQLite in ``data_dir``.
    Yields a description of the database for the report."""
    url = os.environ.get("DATABASE_URL")
    if not url:
        setup_django(data_dir)
        yield "SQLite (WAL) in a temporary data directory"
        return
    configure(data_dir, {"DATABASE_URL": url})
    from django.db import connection

    settings = connection.settings_dict
    name = str(settings["NAME"])
    # Not the test runner's test_<name>: a test session may be using that one right now.
    label = f"bench_{os.getpid()}_"
    if connection.vendor == "sqlite":
        throwaway = str(Path(name).with_name(label + Path(name).name))
    else:
        throwaway = label + name
    settings.setdefault("TEST", {})["NAME"] = throwaway
    original = connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    try:
        yield f"{connection.vendor} from DATABASE_URL, throwaway database {throwaway}"
    finally:
        connection.creation.destroy_test_db(original, verbosity=0)
