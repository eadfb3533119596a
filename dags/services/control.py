"""Starting and stopping a DAG: a stopped DAG gets no scheduled or continuous runs; its runs in
flight finish, or are cancelled when the user asks. Starting a continuous DAG starts its run."""

from __future__ import annotations

from dags.models import Dag, DagRun
from dags.services.clones import ensure_not_auto_clone
from dags.services.runs import cancel_run, continue_when_committed
from dags.states import RUN_ACTIVE


def set_paused(*, dag: Dag, paused: bool, cancel_active: bool = False, by: str = "") -> Dag:
    Dag.objects.filter(pk=dag.pk).update(is_paused=paused)
    if paused and cancel_active:
        for run in DagRun.objects.filter(dag=dag, state__in=RUN_ACTIVE):
            cancel_run(run=run, by=by)
    dag.refresh_from_db()
    if not paused and (dag.definition or {}).get("run_mode") == "continuous":
        continue_when_committed(dag.pk)  # started: its first run goes now, not at the next tick
    return dag


def set_paused_by_hand(*, dag: Dag, paused: bool, cancel_active: bool = False, by: str = "") -> Dag:
    """A person's Stop or Start: refused, changing nothing, for a clone AutoClone manages."""
    ensure_not_auto_clone(dag, action="stopped" if paused else "started")
    return set_paused(dag=dag, paused=paused, cancel_active=cancel_active, by=by)
