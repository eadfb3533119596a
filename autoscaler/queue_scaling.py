"""Worker pools sized on queue depth: how many workers a Celery queue needs right now.

Dagyard computes the number and exports it (``orchestrator_desired_workers{worker_type=...}``)
rather than letting an external scaler read Redis, so the rule lives in one place and every
consumer (the local provider, Kubernetes through Prometheus) agrees on it.
"""

from __future__ import annotations

ERR_NOT_COUNT = "{name} must be a whole number, got {value!r}"
ERR_NEGATIVE = "{name} must be 0 or more, got {value}"
ERR_FACTOR = "factor must be 1 or more (queued tasks per worker), got {value}"
ERR_MIN_ABOVE_MAX = "minimum ({minimum}) is above maximum ({maximum})"


class QueueScalingError(ValueError):
    """Arguments that do not describe a worker pool; the message names the bad one."""


def desired_workers(depth: int, *, factor: int, minimum: int, maximum: int) -> int:
    """``ceil(depth / factor)`` workers, clamped to ``[minimum, maximum]``.

    ``factor`` is how many queued tasks one worker is expected to absorb: depth 18 with factor 6
    wants 3 workers; with ``maximum`` 2 it gets 2, and an empty queue gets ``minimum``.
    """
    for name, value in (
        ("depth", depth),
        ("factor", factor),
        ("minimum", minimum),
        ("maximum", maximum),
    ):
        if isinstance(value, bool) or not isinstance(value, int):
            raise QueueScalingError(ERR_NOT_COUNT.format(name=name, value=value))
        if value < 0:
            raise QueueScalingError(ERR_NEGATIVE.format(name=name, value=value))
    if factor < 1:
        raise QueueScalingError(ERR_FACTOR.format(value=factor))
    if minimum > maximum:
        raise QueueScalingError(ERR_MIN_ABOVE_MAX.format(minimum=minimum, maximum=maximum))
    wanted = -(-depth // factor)
    return max(minimum, min(maximum, wanted))
