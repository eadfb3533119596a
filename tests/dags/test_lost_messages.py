"""Messages that never reached the broker, or a claimed child whose worker died, never strand
a run: the reaper sends them once their claim goes stale."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from datetime import timedelta

import pytest
from django.utils import timezone

from dags.models import DagRun, NodeAttempt, NodeRun
from dags.services.reaper import reap
from dags.services.runs import start_run
from dags.states import NodeState, RunState
from tests.conftest import REPO_ROOT, process_environment
from tests.dags.conftest import wait_for_run

pytestmark = pytest.mark.django_db(transaction=True)

START_WITH_BROKER_DOWN = textwrap.dedent(
    """
    import sys, django
    django.setup()
    from dags.models import Dag
    from dags.services.runs import start_run
    run = start_run(dag=Dag.objects.get(name=sys.argv[1]))
    print(run.pk)
    """
)


def test_a_run_whose_first_nodes_the_broker_refused_is_finished_after_the_reaper_resends(
    celery_worker, make_dag, test_database_url
):
    dag = make_dag({"name": "unsent", "nodes": [{"id": "only", "command": ["/bin/true"]}]})
    result = subprocess.run(
        [sys.executable, "-c", START_WITH_BROKER_DOWN, dag.name],
        cwd=REPO_ROOT,
        env=process_environment(
            DATABASE_URL=test_database_url, REDIS_URL="redis://127.0.0.1:1/0",
            DJANGO_SETTINGS_MODULE="orchestrator.settings",
        ),
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "the broker refused 1 node(s); the reaper will resend them" in result.stderr
    run = DagRun.objects.get(pk=int(result.stdout))
    node = NodeRun.objects.get(run=run)
    assert node.state == NodeState.QUEUED
    assert node.heartbeat_at is not None
    assert reap(orphan_after=0.0).requeued == [node.pk]
    assert wait_for_run(run).state == RunState.SUCCEEDED


def test_a_child_claimed_by_a_worker_that_died_is_sent_by_the_reaper(celery_worker, make_dag):
    dag = make_dag({"name": "claimed", "nodes": [
        {"id": "first", "command": ["/bin/true"]},
        {"id": "second", "command": ["/bin/true"], "in": ["first"]},
    ]})  # fmt: skip
    run = wait_for_run(start_run(dag=dag))
    # Rewind the run to the moment a worker claimed `second` and died before launching it.
    stale = timezone.now() - timedelta(minutes=5)
    DagRun.objects.filter(pk=run.pk).update(state=RunState.RUNNING, finished_at=None)
    NodeAttempt.objects.filter(node_run__run=run, node_run__node_id="second").delete()
    NodeRun.objects.filter(run=run, node_id="second").update(
        state=NodeState.QUEUED, heartbeat_at=stale, attempts=0
    )
    assert reap().requeued == [NodeRun.objects.get(run=run, node_id="second").pk]
    run = wait_for_run(run)
    assert run.state == RunState.SUCCEEDED
    assert NodeRun.objects.get(run=run, node_id="second").attempts == 1


def test_dagyard_run_refuses_in_one_line_when_redis_does_not_answer(make_dag, test_database_url):
    make_dag({"name": "nobroker", "nodes": [{"id": "x", "command": ["/bin/true"]}]})
    result = subprocess.run(
        [sys.executable, "-m", "orchestrator.cli", "run", "nobroker"],
        cwd=REPO_ROOT,
        env=process_environment(DATABASE_URL=test_database_url,
                                REDIS_URL="redis://:pw@127.0.0.1:1/0"),
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("CommandError: Redis at redis://:***@127.0.0.1:1/0 does not answer")
    assert lines[0].endswith("no run was started")
    assert DagRun.objects.count() == 0
