"""What the provisioning commands share: a refusal becomes one line and exit status 1."""

from __future__ import annotations

import getpass
import os
from collections.abc import Iterator
from contextlib import contextmanager

from django.core.management.base import CommandError

from provisioning.errors import ProvisioningError


def invoking_user() -> str:
    """The operating-system user running the command, recorded as who started a deployment."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # a uid without a passwd entry, as in some containers
        return f"uid {os.getuid()}"


@contextmanager
def refusals_as_command_errors() -> Iterator[None]:
    try:
        yield
    except ProvisioningError as error:
        raise CommandError(str(error)) from None
