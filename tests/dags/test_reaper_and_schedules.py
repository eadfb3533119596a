"""A worker that dies mid-node, and scheduled runs that must not double."""

from __future__ import annotations

import json
import os
import signal
from datetime import UTC, datetime

import pytest
from django_celery_beat.models import PeriodicTask

from dags.models import DagRun, NodeRun
from dags.services.reaper import reap
from dags.services.runs import start_run
from dags.services.scheduling import (
    periodic_task_name,
    scheduled_time,
    sync_schedule,
    trigger_scheduled,
)
from dags.states import NodeState, RunState
from tests.conftest import start_worker, stop_worker
from tests.dags.conftest import wait_for_run, wait_until

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_node_whose_worker_was_killed_is_requeued_by_the_reaper_and_finishes(
    celery_worker, make_dag, tmp_path, test_database_url
):
    dag = make_dag(
        {"name": "orphaned", "nodes": [{"id": "work", "command": "work.sh", "queue": "fragile",
         "retry": {"retries": 1}}]},
        # The first attempt outlives any delay before the kill; the second ends at once.
        {"work.sh": "#!/bin/sh\necho $DAGYARD_ATTEMPT >> attempts.txt\n"
                    '[ "$DAGYARD_ATTEMPT" = 1 ] && exec sleep 60\nexit 0\n'},
    )  # fmt: skip
    doomed = start_worker(
        database_url=test_database_url, log_path=tmp_path / "doomed.log", queues=("fragile",)
    )
    run = start_run(dag=dag)
    node = NodeRun.objects.get(run=run)
    attempts = tmp_path / "orphaned" / "attempts.txt"
    wait_until(attempts.exists, what="the first attempt's script is running")
    os.killpg(doomed.process.pid, signal.SIGKILL)  # the machine is gone: worker, pool, script
    doomed.process.wait()

    report = reap(orphan_after=0.0)
    assert report.requeued == [node.pk]
    node.refresh_from_db()
    assert node.state == NodeState.QUEUED
    assert node.error.startswith("its worker stopped answering")

    survivor = start_worker(
        database_url=test_database_url, log_path=tmp_path / "survivor.log", queues=("fragile",)
    )
    try:
        run = wait_for_run(run)
    finally:
        stop_worker(survivor)
    assert run.state == RunState.SUCCEEDED
    assert (tmp_path / "orphaned" / "attempts.txt").read_text().split() == ["1", "2"]


def test_an_orphan_without_retries_left_fails_and_its_run_ends(celery_worker, make_dag, tmp_path,
                                                               test_database_url):  # fmt: skip
    dag = make_dag(
        {"name": "orphan-final", "nodes": [
            {"id": "work", "command": ["/bin/sleep", "30"], "queue": "fragile"},
            {"id": "after", "command": ["/bin/true"], "in": ["work"]},
        ]}
    )  # fmt: skip
    doomed = start_worker(
        database_url=test_database_url, log_path=tmp_path / "doomed.log", queues=("fragile",)
    )
    run = start_run(dag=dag)
    wait_until(lambda: run.node_runs.filter(state=NodeState.RUNNING).exists())
    os.killpg(doomed.process.pid, signal.SIGKILL)
    doomed.process.wait()
    report = reap(orphan_after=0.0)
    assert len(report.failed) == 1
    run.refresh_from_db()
    assert run.state == RunState.FAILED
    assert dict(run.node_runs.values_list("node_id", "state")) == {
        "work": NodeState.FAILED, "after": NodeState.UPSTREAM_FAILED
    }  # fmt: skip


def test_two_ticks_for_the_same_cron_time_make_one_run(celery_worker, make_dag):
    dag = make_dag(
        {"name": "nightly", "schedule": "*/5 * * * *", "max_active_runs": 3,
         "nodes": [{"id": "n", "command": ["/bin/true"]}]}
    )  # fmt: skip
    tick = datetime(2026, 11, 23, 2, 5, 3, tzinfo=UTC)
    first = trigger_scheduled(dag_id=dag.pk, now=tick)
    second = trigger_scheduled(dag_id=dag.pk, now=tick.replace(second=40))
    assert first is not None
    assert second is None
    assert DagRun.objects.filter(dag=dag).count() == 1
    assert first.scheduled_for == datetime(2026, 11, 23, 2, 5, tzinfo=UTC)
    assert first.trigger == DagRun.Trigger.SCHEDULE
    wait_for_run(first)


def test_a_tick_is_for_the_latest_cron_time_not_after_it():
    now = datetime(2026, 11, 23, 14, 59, 59, tzinfo=UTC)
    assert scheduled_time("0 * * * *", now) == datetime(2026, 11, 23, 14, 0, tzinfo=UTC)
    assert scheduled_time("@daily", now) == datetime(2026, 11, 23, 0, 0, tzinfo=UTC)
    on_time = datetime(2026, 11, 23, 15, 0, 0, tzinfo=UTC)
    assert scheduled_time("0 * * * *", on_time) == on_time


def test_the_periodic_task_follows_edits_and_keeps_a_users_switch(make_dag):
    dag = make_dag({"name": "hourly", "schedule": "0 * * * *",
                    "nodes": [{"id": "n", "command": ["/bin/true"]}]})  # fmt: skip
    task = PeriodicTask.objects.get(name=periodic_task_name(dag))
    assert (task.task, json.loads(task.args), task.crontab.minute) == (
        "dags.trigger_scheduled", [dag.pk], "0"
    )  # fmt: skip
    task.enabled = False
    task.save()
    dag = make_dag({"name": "hourly", "schedule": "30 6 * * 1-5",
                    "nodes": [{"id": "n", "command": ["/bin/true"]}]})  # fmt: skip
    task.refresh_from_db()
    assert (task.crontab.minute, task.crontab.hour, task.crontab.day_of_week) == ("30", "6", "1-5")
    assert task.enabled is False
    dag.schedule = ""
    sync_schedule(dag)
    assert not PeriodicTask.objects.filter(name=periodic_task_name(dag)).exists()
