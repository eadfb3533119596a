"""What the DAG commands share: who is running them, and how a refusal becomes one line.

Each command parses its arguments, calls one selector or service and renders the result with
``dags.cli_render``. A refusal (``DagError``, ``RunRefused``, ``DefinitionError``) becomes a
``CommandError`` carrying the service's own message, which Django prints on one line (a
definition with several problems lists them) before exiting with status 1.
"""

from __future__ import annotations

import getpass
import os
from collections.abc import Iterator
from contextlib import contextmanager

from django.core.management.base import CommandError

from dags.engine.errors import DefinitionError
from dags.errors import DagError


def invoking_user() -> str:
    """The operating-system user running the command, recorded as who triggered or cancelled."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # a uid without a passwd entry, as in some containers
        return f"uid {os.getuid()}"


@contextmanager
def refusals_as_command_errors() -> Iterator[None]:
    try:
        yield
    except (DagError, DefinitionError) as error:
        raise CommandError(str(error)) from None
