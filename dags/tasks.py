"""Celery tasks of the DAG app: load ids, call a service, return."""

from __future__ import annotations

from celery import shared_task
from django.db import close_old_connections

from dags.services import autoclone, nodes, reaper, runs, scheduling


@shared_task(name="dags.run_node", bind=True, max_retries=None, acks_late=True, ignore_result=True)
def run_node(self, node_run_id: int) -> None:
    """Run one node. Waiting for resources or for a retry is a countdown, never a sleep."""
    outcome = nodes.work_on(node_run_id=node_run_id, worker=self.request.hostname or "")
    if outcome.retry_in is not None:
        raise self.retry(countdown=outcome.retry_in)


@shared_task(name="dags.trigger_scheduled")
def trigger_scheduled(dag_id: int) -> int | None:
    run = scheduling.trigger_scheduled(dag_id=dag_id)
    return run.pk if run else None


@shared_task(name="dags.reap")
def reap() -> dict:
    report = reaper.reap()
    return {"requeued": report.requeued, "failed": report.failed,
            "runs_past_deadline": report.runs_past_deadline}  # fmt: skip


@shared_task(name="dags.continue_dag", ignore_result=True)
def continue_dag(dag_id: int) -> None:
    """Start a continuous DAG's next run, or come back when its minimum interval has passed."""
    _run, wait = runs.start_next_continuous_run(dag_id=dag_id)
    if wait is not None:
        runs.continue_when_committed(dag_id, countdown=wait)


@shared_task(name="dags.keep_continuous_dags_running", ignore_result=True)
def keep_continuous_dags_running() -> list[int]:
    return runs.keep_continuous_dags_running()


@shared_task(name="dags.autoclone_tick")
def autoclone_tick() -> list[str]:
    """One AutoClone manager pass; a failed tick is logged and the next one carries on."""
    close_old_connections()
    return autoclone.tick().lines
