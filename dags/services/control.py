"""Starting and stopping a DAG: a stopped DAG gets no scheduled runs; its runs in flight finish,
or are cancelled when the user asks."""

from __future__ import annotations

from dags.models import Dag, DagRun
from dags.services.runs import cancel_run
from dags.states import RUN_ACTIVE


def set_paused(*, dag: Dag, paused: bool, cancel_active: bool = False, by: str = "") -> Dag:
    Dag.objects.filter(pk=dag.pk).update(is_paused=paused)
    if paused and cancel_active:
        for run in DagRun.objects.filter(dag=dag, state__in=RUN_ACTIVE):
            cancel_run(run=run, by=by)
    dag.refresh_from_db()
    return dag
