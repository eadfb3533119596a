"""What the broker holds and who serves it: queue depths and the workers Celery sees.

Celery's Redis transport keeps each queue as a Redis list named after the queue (plus one list
per priority step, ``<queue>\\x06\\x16<n>``, when messages carry priorities); a queue's depth is
the sum of their lengths: messages waiting, not the ones a worker already holds.
"""

from __future__ import annotations

from collections.abc import Iterable

import redis
from django.conf import settings

INSPECT_TIMEOUT_SECONDS = 1.0

PRIORITY_SEPARATOR = "\x06\x16"
PRIORITY_STEPS = (3, 6, 9)  # kombu's defaults besides 0, which is the bare queue name


def queue_depths(queues: Iterable[str]) -> dict[str, int]:
    """Messages waiting in each Celery queue, read from the broker in one round trip."""
    names = list(dict.fromkeys(queues))
    if not names:
        return {}
    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    try:
        pipeline = client.pipeline(transaction=False)
        for name in names:
            pipeline.llen(name)
            for step in PRIORITY_STEPS:
                pipeline.llen(f"{name}{PRIORITY_SEPARATOR}{step}")
        lengths = pipeline.execute()
    finally:
        client.close()
    per_queue = 1 + len(PRIORITY_STEPS)
    return {
        name: sum(lengths[index * per_queue : (index + 1) * per_queue])
        for index, name in enumerate(names)
    }


def workers(timeout: float = INSPECT_TIMEOUT_SECONDS) -> list[dict]:
    """Each worker that answers within `timeout`: its queues and its active tasks."""
    from orchestrator.celery import app

    inspector = app.control.inspect(timeout=timeout)
    queues = inspector.active_queues() or {}
    active = inspector.active() or {}
    return [
        {
            "name": name,
            "queues": sorted(queue["name"] for queue in queues.get(name, [])),
            "active": [
                {"id": task.get("id"), "task": task.get("name"), "args": task.get("args")}
                for task in active.get(name, [])
            ],
        }
        for name in sorted(set(queues) | set(active))
    ]
