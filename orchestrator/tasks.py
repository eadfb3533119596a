"""Tasks of the project itself: a probe that proves a message goes through a worker."""

from __future__ import annotations

import socket

from celery import shared_task

from orchestrator.health import check_database


@shared_task(name="orchestrator.probe", acks_late=False)
def probe(token: str) -> dict:
    """Answer with the worker's view of the system; `dagyard doctor` and the tests send it."""
    database = check_database()
    return {
        "token": token,
        "hostname": socket.gethostname(),
        "database": database.target,
        "database_ok": database.ok,
    }
