"""A started DAG in continuous run mode keeps producing runs, one at a time, through the real
worker; stopping it stops new runs, and starting it again starts one at once."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from dags.models import Dag, DagRun
from dags.services.control import set_paused
from dags.states import RUN_ACTIVE, RunState
from tests.dags.conftest import wait_for_run, wait_until

COUNT_SCRIPT = '#!/bin/sh\necho "$DAGYARD_RUN_ID" >> "$OUT"\n'


def continuous(make_dag: Callable[..., Dag], out, **extra) -> Dag:
    return make_dag(
        {
            "name": "loop",
            "run_mode": "continuous",
            "nodes": [{"id": "tick", "command": "tick.sh", "env": {"OUT": str(out)}}],
            **extra,
        },
        {"tick.sh": COUNT_SCRIPT},
    )


def finished_runs(dag: Dag) -> list[DagRun]:
    return list(DagRun.objects.filter(dag=dag, state=RunState.SUCCEEDED).order_by("pk"))


@pytest.mark.django_db(transaction=True)
def test_a_continuous_dag_runs_again_as_soon_as_its_last_run_ends(
    celery_worker, make_dag: Callable[..., Dag], tmp_path
) -> None:
    out = tmp_path / "runs.txt"
    dag = continuous(make_dag, out)
    set_paused(dag=dag, paused=True)
    set_paused(dag=dag, paused=False)  # Start: the first run goes at once

    wait_until(lambda: len(finished_runs(dag)) >= 3, what="three continuous runs")
    set_paused(dag=dag, paused=True)
    for run in DagRun.objects.filter(dag=dag, state__in=RUN_ACTIVE):
        wait_for_run(run)

    runs = list(DagRun.objects.filter(dag=dag).order_by("pk"))
    assert {run.triggered_by for run in runs} == {"continuous"}
    # One at a time: each run started only after the one before it had ended.
    for before, after in zip(runs, runs[1:], strict=False):
        assert after.started_at >= before.finished_at
    # Every run really ran its script, once.
    assert out.read_text().split() == [str(run.pk) for run in runs]


@pytest.mark.django_db(transaction=True)
def test_a_stopped_continuous_dag_starts_no_new_run_until_started(
    celery_worker, make_dag: Callable[..., Dag], tmp_path
) -> None:
    out = tmp_path / "runs.txt"
    dag = continuous(make_dag, out, min_run_interval_seconds=3600)
    set_paused(dag=dag, paused=False)
    wait_until(lambda: DagRun.objects.filter(dag=dag).exists(), what="the first run")
    first = wait_for_run(DagRun.objects.get(dag=dag))
    assert first.state == RunState.SUCCEEDED

    from dags.services.runs import keep_continuous_dags_running

    keep_continuous_dags_running()  # the interval has not passed: nothing new
    assert DagRun.objects.filter(dag=dag).count() == 1

    set_paused(dag=dag, paused=True)
    DagRun.objects.filter(pk=first.pk).update(
        created_at=first.created_at.replace(year=first.created_at.year - 1)
    )
    keep_continuous_dags_running()  # interval passed, but the DAG is stopped
    assert DagRun.objects.filter(dag=dag).count() == 1

    set_paused(dag=dag, paused=False)
    wait_until(lambda: DagRun.objects.filter(dag=dag).count() == 2, what="a run after Start")
