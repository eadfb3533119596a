"""What the autoscaler's commands share: a refusal becomes one line and exit status 1."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.core.management.base import CommandError

from autoscaler.errors import AutoscalerError
from autoscaler.pool_config import PoolConfigError


@contextmanager
def refusals_as_command_errors() -> Iterator[None]:
    try:
        yield
    except (AutoscalerError, PoolConfigError) as error:
        raise CommandError(str(error)) from error
