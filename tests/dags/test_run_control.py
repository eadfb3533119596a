"""The resource gate, deadlines, timeouts, retries, failure policies and limits, through the
real broker and worker."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import psutil
import pytest

from dags.errors import RunRefused
from dags.models import DagRun, NodeAttempt, NodeRun, RunEvent
from dags.services.runs import RESOURCE_WAIT_TIMEOUT, cancel_run, retry_run, start_run
from dags.states import NodeState, RunState
from tests.dags.conftest import wait_for_run, wait_until

pytestmark = pytest.mark.django_db(transaction=True)

SHM = Path("/dev/shm")


def states_of(run: DagRun) -> dict[str, str]:
    return dict(run.node_runs.values_list("node_id", "state"))


def messages(run: DagRun) -> list[str]:
    return list(run.events.values_list("message", flat=True))


def pid_alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


@pytest.mark.skipif(not SHM.is_dir(), reason="needs /dev/shm (tmpfs) to make the disk busy")
def test_a_node_waits_while_the_disk_is_short_and_starts_once_space_is_free(
    celery_worker, make_dag
):
    folder = SHM / f"dagyard-gate-{os.getpid()}"
    ballast = SHM / f"dagyard-ballast-{os.getpid()}"
    try:
        free_mb = shutil.disk_usage(SHM).free / 2**20
        dag = make_dag(
            {"name": "gated", "resources": {"disk_free_mb": round(free_mb - 100)},
             "nodes": [{"id": "write", "command": ["/bin/true"]}]},
            folder=folder,
        )  # fmt: skip
        with open(ballast, "wb") as handle:
            handle.write(b"\0" * 300 * 2**20)
        run = start_run(dag=dag)
        node = NodeRun.objects.get(run=run)
        wait_until(lambda: NodeRun.objects.get(pk=node.pk).state == NodeState.WAITING_RESOURCES,
                   what="the node waits for disk space")  # fmt: skip
        waiting = RunEvent.objects.get(run=run, node_id="write")
        assert waiting.message.startswith(
            "Resources busy\u2014waiting for availability... (disk free"
        )
        ballast.unlink()
        run = wait_for_run(run)
        assert run.state == RunState.SUCCEEDED
        assert NodeAttempt.objects.filter(node_run=node).count() == 1
    finally:
        ballast.unlink(missing_ok=True)
        shutil.rmtree(folder, ignore_errors=True)


def test_a_host_that_stays_busy_fails_the_run_at_its_deadline_and_frees_the_worker(
    celery_worker, make_dag
):
    starved = make_dag(
        {"name": "starved", "deadline_seconds": 3, "resources": {"disk_free_mb": 10**12},
         "nodes": [{"id": "never", "command": ["/bin/true"]}]}
    )  # fmt: skip
    quick = make_dag({"name": "quick", "nodes": [{"id": "go", "command": ["/bin/true"]}]})
    waiting_run = start_run(dag=starved)
    wait_until(lambda: states_of(waiting_run) == {"never": NodeState.WAITING_RESOURCES})
    other = wait_for_run(start_run(dag=quick), timeout=10)
    assert other.state == RunState.SUCCEEDED, "the worker is free while a node waits"
    run = wait_for_run(waiting_run, timeout=30)
    assert run.state == RunState.FAILED
    assert run.error == RESOURCE_WAIT_TIMEOUT.format(seconds=3)
    assert run.error == "Resource wait timeout: Resources not available within 3s"
    assert states_of(run) == {"never": NodeState.CANCELLED}
    assert not NodeAttempt.objects.filter(node_run__run=run).exists()


def test_the_deadline_kills_a_running_node_and_names_what_was_unfinished(
    celery_worker, make_dag, tmp_path
):
    dag = make_dag(
        {"name": "late", "deadline_seconds": 2, "nodes": [
            {"id": "slow", "command": "slow.sh"},
            {"id": "after", "command": ["/bin/true"], "in": ["slow"]},
        ]},
        {"slow.sh": "#!/bin/sh\necho $$ > pid.txt\nexec sleep 60\n"},
    )  # fmt: skip
    run = wait_for_run(start_run(dag=dag), timeout=30)
    assert run.state == RunState.FAILED
    assert run.error == "Deadline of 2s passed with nodes unfinished: slow, after"
    pid = int((tmp_path / "late" / "pid.txt").read_text())
    wait_until(lambda: not pid_alive(pid), timeout=10, what="the node's process is gone")


def test_a_timeout_kills_the_whole_process_tree_and_fails_the_node(
    celery_worker, make_dag, tmp_path
):
    script = "#!/bin/sh\nsleep 120 &\necho $! > child.txt\necho $$ > pid.txt\nwait\n"
    dag = make_dag(
        {"name": "stuck", "nodes": [{"id": "tree", "command": "tree.sh", "timeout_seconds": 1}]},
        {"tree.sh": script},
    )
    run = wait_for_run(start_run(dag=dag))
    assert run.state == RunState.FAILED
    node = NodeRun.objects.get(run=run)
    assert node.state == NodeState.FAILED
    assert node.error == "timed out after 1s; its process group was killed"
    folder = tmp_path / "stuck"
    for name in ("pid.txt", "child.txt"):
        pid = int((folder / name).read_text())
        wait_until(lambda pid=pid: not pid_alive(pid), timeout=10, what=f"{name} process gone")


def test_a_failing_node_is_retried_and_succeeds_on_its_third_attempt(
    celery_worker, make_dag, tmp_path
):
    flaky = (
        "#!/bin/sh\n"
        "count=$(cat tries.txt 2>/dev/null || echo 0)\n"
        "count=$((count + 1)); echo $count > tries.txt\n"
        "echo attempt $DAGYARD_ATTEMPT\n"
        "[ $count -ge 3 ]\n"
    )
    dag = make_dag(
        {"name": "flaky", "nodes": [{"id": "try", "command": "flaky.sh",
         "retry": {"retries": 2, "delay_seconds": 0.2, "backoff": 2}}]},
        {"flaky.sh": flaky},
    )  # fmt: skip
    run = wait_for_run(start_run(dag=dag))
    assert run.state == RunState.SUCCEEDED
    attempts = list(NodeAttempt.objects.filter(node_run__run=run).order_by("number"))
    assert [(a.number, a.exit_code, a.outcome) for a in attempts] == [
        (1, 1, "failed"), (2, 1, "failed"), (3, 0, "succeeded")
    ]  # fmt: skip
    assert attempts[2].output == "attempt 3\n"
    assert sum("retrying in" in m for m in messages(run)) == 2


def test_retries_run_out_and_the_node_fails_for_good(celery_worker, make_dag):
    dag = make_dag(
        {"name": "doomed", "nodes": [{"id": "no", "command": ["/bin/false"],
         "retry": {"retries": 1, "delay_seconds": 0.1}}]}
    )  # fmt: skip
    run = wait_for_run(start_run(dag=dag))
    assert run.state == RunState.FAILED
    node = NodeRun.objects.get(run=run)
    assert (node.state, node.attempts, node.error) == (NodeState.FAILED, 2, "exited with code 1")


POLICY_DAG = {
    "nodes": [
        {"id": "bad", "command": "bad.sh"},
        {"id": "after_bad", "command": ["/bin/true"], "in": ["bad"]},
        {"id": "long", "command": "long.sh"},
        {"id": "after_long", "command": ["/bin/true"], "in": ["long"]},
    ]
}
POLICY_SCRIPTS = {
    "bad.sh": "#!/bin/sh\nsleep 0.3\nexit 3\n",
    "long.sh": "#!/bin/sh\necho $$ > long.pid\nsleep 1.5\n",
}


def test_stop_policy_cancels_the_rest_of_the_run_at_the_first_failure(
    celery_worker, make_dag, tmp_path
):
    dag = make_dag({"name": "stop-policy", **POLICY_DAG}, POLICY_SCRIPTS)
    run = wait_for_run(start_run(dag=dag))
    assert run.state == RunState.FAILED
    assert states_of(run) == {
        "bad": NodeState.FAILED, "after_bad": NodeState.UPSTREAM_FAILED,
        "long": NodeState.CANCELLED, "after_long": NodeState.CANCELLED,
    }  # fmt: skip
    pid = int((tmp_path / "stop-policy" / "long.pid").read_text())
    wait_until(lambda: not pid_alive(pid), timeout=10, what="the cancelled node's process is gone")


def test_continue_policy_lets_independent_branches_finish(celery_worker, make_dag):
    dag = make_dag({"name": "continue-policy", "failure_policy": "continue", **POLICY_DAG},
                   POLICY_SCRIPTS)  # fmt: skip
    run = wait_for_run(start_run(dag=dag))
    assert run.state == RunState.FAILED
    assert states_of(run) == {
        "bad": NodeState.FAILED, "after_bad": NodeState.UPSTREAM_FAILED,
        "long": NodeState.SUCCEEDED, "after_long": NodeState.SUCCEEDED,
    }  # fmt: skip


def test_a_trigger_beyond_max_active_runs_is_refused_and_changes_nothing(celery_worker, make_dag):
    dag = make_dag({"name": "single", "nodes": [{"id": "wait", "command": ["/bin/sleep", "30"]}]})
    first = start_run(dag=dag)
    counts = (DagRun.objects.count(), NodeRun.objects.count(), RunEvent.objects.count())
    with pytest.raises(RunRefused) as refused:
        start_run(dag=dag)
    assert str(refused.value) == (
        "DAG 'single' already has 1 active run(s) and allows 1 (max_active_runs); "
        "wait for one to finish, cancel one, or raise the limit"
    )
    assert (DagRun.objects.count(), NodeRun.objects.count(), RunEvent.objects.count()) == counts
    cancel_run(run=first, by="test")


def test_cancel_kills_the_running_process_group_and_cancels_every_node(
    celery_worker, make_dag, tmp_path
):
    dag = make_dag(
        {"name": "cancel-me", "nodes": [
            {"id": "busy", "command": "busy.sh"},
            {"id": "next", "command": ["/bin/true"], "in": ["busy"]},
        ]},
        {"busy.sh": "#!/bin/sh\nsleep 300 &\necho $! > child.pid\necho $$ > busy.pid\nwait\n"},
    )  # fmt: skip
    run = start_run(dag=dag)
    folder = tmp_path / "cancel-me"
    wait_until(lambda: (folder / "busy.pid").exists() and (folder / "child.pid").exists())
    run = cancel_run(run=run, by="alice")
    assert run.state == RunState.CANCELLED
    assert run.error == "Run cancelled by alice"
    assert states_of(run) == {"busy": NodeState.CANCELLED, "next": NodeState.CANCELLED}
    for name in ("busy.pid", "child.pid"):
        pid = int((folder / name).read_text())
        wait_until(lambda pid=pid: not pid_alive(pid), timeout=10, what=f"{name} gone")
    with pytest.raises(RunRefused, match="has already finished"):
        cancel_run(run=run)


def test_retry_runs_failed_nodes_and_their_dependants_and_keeps_successes(
    celery_worker, make_dag, tmp_path
):
    dag = make_dag(
        {"name": "mend", "nodes": [
            {"id": "ok", "command": ["/bin/true"]},
            {"id": "fragile", "command": "fragile.sh", "in": ["ok"]},
            {"id": "last", "command": ["/bin/true"], "in": ["fragile"]},
        ]},
        {"fragile.sh": "#!/bin/sh\n[ -f fixed ]\n"},
    )  # fmt: skip
    run = wait_for_run(start_run(dag=dag))
    assert run.state == RunState.FAILED
    with pytest.raises(RunRefused, match="only a failed or cancelled run can be retried"):
        retry_run(run=wait_for_run(start_run(dag=make_dag(
            {"name": "fine", "nodes": [{"id": "x", "command": ["/bin/true"]}]}))))  # fmt: skip
    (tmp_path / "mend" / "fixed").write_text("")
    retried = retry_run(run=run, by="bob")
    assert retried.state == RunState.RUNNING
    run = wait_for_run(retried)
    assert run.state == RunState.SUCCEEDED
    attempts = dict(NodeRun.objects.filter(run=run).values_list("node_id", "attempts"))
    assert attempts == {"ok": 1, "fragile": 2, "last": 1}


def test_an_edit_never_changes_a_run_in_flight(celery_worker, make_dag, tmp_path):
    definition = {"name": "edited", "nodes": [{"id": "one", "command": "step.sh"}]}
    dag = make_dag(definition, {"step.sh": "#!/bin/sh\nsleep 0.5\necho first\n"})
    run = start_run(dag=dag)
    time.sleep(0.1)
    make_dag(
        {"name": "edited", "nodes": [{"id": "one", "command": "step.sh"},
                                     {"id": "two", "command": "step.sh", "in": ["one"]}]},
        folder=tmp_path / "edited",
    )  # fmt: skip
    run = wait_for_run(run)
    assert run.state == RunState.SUCCEEDED
    assert list(run.node_runs.values_list("node_id", flat=True)) == ["one"]
    assert [n["id"] for n in run.definition["nodes"]] == ["one"]
