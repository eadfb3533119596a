"""The `dagyard` command: Django's management commands under Dagyard's name.

Two things happen before Django starts, because settings depend on them: `--data-dir` given to
any command becomes DAGYARD_DATA_DIR, and a malformed setting ends the command with one line
naming the variable instead of a traceback.
"""

from __future__ import annotations

import os
import sys

from orchestrator.environment import ConfigError


def apply_data_dir_option(argv: list[str]) -> list[str]:
    """Turn `--data-dir X` / `--data-dir=X` into DAGYARD_DATA_DIR; keep it in argv too."""
    for index, word in enumerate(argv):
        if word == "--data-dir" and index + 1 < len(argv):
            os.environ["DAGYARD_DATA_DIR"] = os.path.abspath(os.path.expanduser(argv[index + 1]))
        elif word.startswith("--data-dir="):
            value = word.split("=", 1)[1]
            os.environ["DAGYARD_DATA_DIR"] = os.path.abspath(os.path.expanduser(value))
    return argv


def main(argv: list[str] | None = None) -> None:
    argv = apply_data_dir_option(list(sys.argv if argv is None else argv))
    argv[0] = "dagyard"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "orchestrator.settings")
    try:
        from django.conf import settings

        settings.INSTALLED_APPS  # noqa: B018 - loads settings, which validate the environment
    except ConfigError as error:
        print(f"dagyard: {error}", file=sys.stderr)
        raise SystemExit(2) from None
    from django.core.management import execute_from_command_line

    execute_from_command_line(argv)


if __name__ == "__main__":
    main()
