"""The `dagyard` DAG commands: in-process for what reads and refuses, through the real worker for
what runs, cancels and retries."""

from __future__ import annotations

import contextlib
import getpass
import io
import json
import os
import re
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
import time_machine
from django.core.management import call_command
from django.core.management.base import CommandError

from dags.cli_render import Progress, progress_bar, progress_line, progress_of
from dags.models import Dag, DagRun, NodeAttempt, NodeRun, RunEvent
from dags.states import NodeState, RunState
from tests.conftest import REPO_ROOT, process_environment
from tests.dags.conftest import wait_for_run, wait_until, write_dag
from tests.dags.test_selectors import T0, TWO_NODES, add_run

ETL = {
    "name": "etl",
    "description": "Nightly load.",
    "labels": {"team": "data"},
    "schedule": "0 2 * * *",
    "deadline_seconds": 600,
    "max_active_runs": 2,
    "failure_policy": "continue",
    "resources": {"cpu_percent": 90},
    "nodes": [
        {"id": "extract", "command": "extract.sh", "description": "Fetch the rows."},
        {
            "id": "load",
            "command": ["/bin/true"],
            "in": ["extract"],
            "timeout_seconds": 30,
            "retry": {"retries": 2},
            "queue": "dags",
            "resources": {"memory_percent": 80},
        },
    ],
}
NO_RESOURCES = {"cpu_percent": None, "memory_percent": None, "disk_free_mb": None,
                "load_avg_1m": None}  # fmt: skip
FINAL_LINE = re.compile(r"run (\d+) (\w+) in (\d+\.\d\d)s")


def command(*args: str, stdout: io.StringIO | None = None) -> str:
    out = stdout or io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def json_of(*args: str) -> object:
    return json.loads(command(*args, "--json"))


def refusal(*args: str) -> str:
    with pytest.raises(CommandError) as error:
        command(*args)
    return str(error.value)


def exit_code(*args: str, stdout: io.StringIO | None = None) -> int | str | None:
    with pytest.raises(SystemExit) as exited:
        command(*args, stdout=stdout)
    return exited.value.code


def database_rows() -> tuple[int, ...]:
    return tuple(model.objects.count() for model in (Dag, DagRun, NodeRun, NodeAttempt, RunEvent))


class Terminal(io.StringIO):
    """Output that says it is a terminal, as a shell's stdout does."""

    def isatty(self) -> bool:
        return True


# ------------------------------------------------------------------------- rendering


def test_progress_groups_node_states_into_done_running_waiting_and_failed():
    counts = {
        NodeState.SUCCEEDED: 3, NodeState.SKIPPED: 1, NodeState.RUNNING: 2, NodeState.PENDING: 4,
        NodeState.QUEUED: 1, NodeState.WAITING_RESOURCES: 1, NodeState.UP_FOR_RETRY: 1,
        NodeState.FAILED: 1, NodeState.UPSTREAM_FAILED: 2, NodeState.CANCELLED: 1,
    }  # fmt: skip
    assert progress_of(counts) == Progress(done=4, running=2, waiting=7, failed=4)


def test_the_progress_bar_is_always_its_full_width_and_full_when_every_node_is_done():
    assert progress_bar(Progress(done=5), width=10) == "#" * 10
    assert progress_bar(Progress(done=1, failed=1, running=1, waiting=1), width=8) == "##!!>>.."
    assert progress_bar(Progress(done=1, waiting=2), width=10) == "###......."
    assert progress_bar(Progress(), width=4) == "...."
    assert progress_line(7, Progress(done=1, running=1, waiting=1, failed=1)) == (
        "run 7 [########!!!!!!!>>>>>>>........] 1/4 done, 1 running, 1 waiting, 1 failed"
    )


def test_the_progress_line_shrinks_its_bar_to_fit_the_terminal_and_keeps_the_counts():
    progress = Progress(done=2, waiting=2)
    counts = "2/4 done, 0 running, 2 waiting, 0 failed"
    assert progress_line(7, progress, columns=200) == f"run 7 [{'#' * 15}{'.' * 15}] {counts}"
    assert progress_line(7, progress, columns=60) == f"run 7 [#####.....] {counts}"
    assert len(progress_line(7, progress, columns=60)) == 59
    assert progress_line(7, progress, columns=40) == f"run 7 {counts}"


# ------------------------------------------------------------------------- dags


@pytest.mark.django_db
def test_dags_list_json_gives_each_dag_its_schedule_runs_and_next_time(make_dag):
    etl = make_dag(ETL, {"extract.sh": "#!/bin/sh\n"})
    make_dag({"name": "adhoc", **TWO_NODES})
    last = add_run(etl, state=RunState.FAILED, created_at=T0 - timedelta(hours=3))
    add_run(etl, state=RunState.RUNNING, created_at=T0 - timedelta(hours=4))

    with time_machine.travel(T0, tick=False):
        body = json_of("dags", "list")

    assert body == [
        {"name": "adhoc", "description": "", "schedule": None, "paused": False,
         "active_runs": 0, "max_active_runs": 1, "last_run_id": None, "last_run_state": None,
         "last_run_at": None, "next_run_at": None},
        {"name": "etl", "description": "Nightly load.", "schedule": "0 2 * * *", "paused": False,
         "active_runs": 1, "max_active_runs": 2, "last_run_id": last.pk,
         "last_run_state": "failed", "last_run_at": "2026-03-01T09:00:00+00:00",
         "next_run_at": "2026-03-02T02:00:00+00:00"},
    ]  # fmt: skip


@pytest.mark.django_db
def test_dags_list_prints_a_row_per_dag(make_dag):
    make_dag(ETL, {"extract.sh": "#!/bin/sh\n"})
    make_dag({"name": "adhoc", **TWO_NODES})
    Dag.objects.filter(name="adhoc").update(is_paused=True)

    with time_machine.travel(T0, tick=False):
        lines = command("dags", "list").splitlines()

    assert lines == [
        "NAME   SCHEDULE   PAUSED  ACTIVE  LAST RUN  LAST RUN AT  NEXT RUN AT",
        "adhoc  -          yes     0/1     -         -            -",
        "etl    0 2 * * *  no      0/2     -         -            2026-03-02 02:00:00",
    ]


@pytest.mark.django_db
def test_dags_list_says_so_when_there_are_none():
    assert command("dags", "list") == "no DAGs yet (load some with `dagyard sync`)\n"
    assert json_of("dags", "list") == []


@pytest.mark.django_db
def test_dags_show_json_holds_the_settings_the_nodes_and_recent_runs(make_dag, tmp_path):
    etl = make_dag(ETL, {"extract.sh": "#!/bin/sh\n"})
    run = add_run(
        etl,
        state=RunState.SUCCEEDED,
        nodes={"extract": NodeState.SUCCEEDED, "load": NodeState.SUCCEEDED},
        triggered_by="ana",
    )

    with time_machine.travel(T0, tick=False):
        body = json_of("dags", "show", "etl")

    assert body == {
        "name": "etl",
        "description": "Nightly load.",
        "labels": {"team": "data"},
        "folder": str(tmp_path / "etl"),
        "source_path": str(tmp_path / "etl" / "dag.yaml"),
        "schedule": "0 2 * * *",
        "paused": False,
        "next_run_at": "2026-03-02T02:00:00+00:00",
        "deadline_seconds": 600,
        "resources": {**NO_RESOURCES, "cpu_percent": 90},
        "max_active_runs": 2,
        "active_runs": 0,
        "failure_policy": "continue",
        "nodes": [
            {"id": "extract", "description": "Fetch the rows.", "command": "extract.sh",
             "shell": False, "in": [], "queue": None, "timeout_seconds": None,
             "queue_timeout_seconds": None, "retries": 0,
             "resources": {**NO_RESOURCES, "cpu_percent": 90}},
            {"id": "load", "description": "", "command": ["/bin/true"], "shell": False,
             "in": ["extract"], "queue": "dags", "timeout_seconds": 30,
             "queue_timeout_seconds": None, "retries": 2,
             "resources": {**NO_RESOURCES, "cpu_percent": 90, "memory_percent": 80}},
        ],
        "recent_runs": [
            {"id": run.pk, "dag": "etl", "state": "succeeded", "trigger": "manual",
             "triggered_by": "ana", "scheduled_for": None,
             "created_at": "2026-03-01T12:00:00+00:00", "started_at": "2026-03-01T12:00:00+00:00",
             "finished_at": "2026-03-01T12:00:02.500000+00:00", "duration_seconds": 2.5,
             "error": "", "nodes_total": 2, "nodes_done": 2},
        ],
    }  # fmt: skip


@pytest.mark.django_db
def test_dags_show_prints_settings_nodes_with_prerequisites_and_runs(make_dag, tmp_path):
    etl = make_dag(ETL, {"extract.sh": "#!/bin/sh\n"})
    run = add_run(etl, state=RunState.FAILED, nodes={"extract": NodeState.FAILED})

    with time_machine.travel(T0, tick=False):
        text = command("dags", "show", "etl")

    assert text == (
        "name         etl\n"
        "description  Nightly load.\n"
        "labels       team=data\n"
        f"folder       {tmp_path / 'etl'}\n"
        "schedule     0 2 * * *\n"
        "next run at  2026-03-02 02:00:00\n"
        "paused       no\n"
        "deadline     600s\n"
        "resources    cpu_percent=90\n"
        "active runs  0 of at most 2\n"
        "on failure   continue\n"
        "\n"
        "  NODE     AFTER    COMMAND\n"
        "  extract  -        extract.sh\n"
        "  load     extract  /bin/true\n"
        "\n"
        "recent runs\n"
        "  RUN  DAG  STATE   TRIGGER  CREATED              DURATION  NODES DONE\n"
        f"  {run.pk:<3}  etl  failed  manual   2026-03-01 12:00:00  2.50s     0/1\n"
    )


@pytest.mark.django_db
def test_dags_show_of_an_unknown_dag_names_it():
    assert refusal("dags", "show", "nope") == "no DAG is named 'nope'"


def test_dags_validate_names_the_dag_and_counts_its_nodes(tmp_path):
    path = write_dag(tmp_path / "etl", ETL, {"extract.sh": "#!/bin/sh\n"})
    assert command("dags", "validate", str(path)) == "ok: etl (2 nodes)\n"


@pytest.mark.django_db
def test_dags_validate_lists_every_problem_and_changes_no_row(make_dag, tmp_path):
    make_dag({"name": "kept", **TWO_NODES})
    before = database_rows()
    path = write_dag(
        tmp_path / "broken",
        {"name": "etl", "nodes": [
            {"id": "a", "command": ["/bin/true"], "in": ["c"]},
            {"id": "b", "command": ["/bin/true"], "in": ["a", "ghost"]},
            {"id": "c", "command": ["/bin/true"], "in": ["b"]},
        ]},
    )  # fmt: skip

    message = refusal("dags", "validate", str(path))

    assert message == (
        f"{path}: 2 problems:\n"
        "  - node 'b': prerequisite 'ghost' is not a node of this DAG\n"
        "  - the nodes form a cycle: a -> b -> c -> a"
    )
    assert database_rows() == before
    assert not Dag.objects.filter(name="etl").exists()


def test_dags_validate_of_a_missing_file_says_it_cannot_be_read(tmp_path):
    path = tmp_path / "missing.yaml"
    assert refusal("dags", "validate", str(path)) == (
        f"{path}: cannot be read: [Errno 2] No such file or directory: '{path}'"
    )


def test_dags_validate_exits_1_with_the_problem_from_the_command_line(tmp_path):
    path = write_dag(tmp_path / "etl", {"name": "etl", "nodes": [{"id": "a", "command": "x.sh"}]})
    result = subprocess.run(
        [sys.executable, "-m", "orchestrator.cli", "dags", "validate", str(path)],
        cwd=REPO_ROOT,
        env=process_environment(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr == (
        f"CommandError: {path}: node 'a': script 'x.sh' does not exist in the DAG folder\n"
    )


# ------------------------------------------------------------------------- run (no worker)


@pytest.mark.django_db
def test_run_prints_the_new_run_id_and_records_the_os_user_and_params(make_dag):
    make_dag({"name": "etl", **TWO_NODES})

    printed = command("run", "etl", "--param", "REGION=eu", "--param", "NOTE=a=b")

    run = DagRun.objects.get()
    assert printed == f"{run.pk}\n"
    assert (run.trigger, run.triggered_by, run.params) == (
        "manual",
        getpass.getuser(),
        {"REGION": "eu", "NOTE": "a=b"},
    )


@pytest.mark.django_db
def test_run_json_prints_the_run_as_runs_show_does(make_dag):
    make_dag({"name": "etl", **TWO_NODES})

    body = json_of("run", "etl")

    run = DagRun.objects.get()
    assert body == json_of("runs", "show", str(run.pk))
    assert (body["state"], body["nodes_total"], body["nodes_done"]) == ("running", 2, 0)
    assert [(n["node"], n["state"]) for n in body["nodes"]] == [("a", "queued"), ("b", "pending")]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("param", "message"),
    [
        ("REGION", "parameter 'REGION' must be written NAME=VALUE"),
        ("1X=a", "parameter '1X' is not a valid environment variable name "
                 "(letters, digits and '_', not starting with a digit)"),
        ("PATH=/tmp", "parameter 'PATH' would replace a variable Dagyard or the system sets"),
    ],
)  # fmt: skip
def test_run_refuses_a_malformed_param_and_starts_nothing(make_dag, param, message):
    make_dag({"name": "etl", **TWO_NODES})
    before = database_rows()
    assert refusal("run", "etl", "--param", param) == message
    assert database_rows() == before


@pytest.mark.django_db
def test_run_beyond_max_active_runs_is_refused_and_starts_nothing(make_dag):
    dag = make_dag({"name": "etl", **TWO_NODES})
    add_run(dag, state=RunState.RUNNING)
    before = database_rows()
    assert refusal("run", "etl") == (
        "DAG 'etl' already has 1 active run(s) and allows 1 (max_active_runs); "
        "wait for one to finish, cancel one, or raise the limit"
    )
    assert database_rows() == before


@pytest.mark.django_db
def test_run_of_an_unknown_dag_is_refused():
    assert refusal("run", "nope") == "no DAG is named 'nope'"
    assert DagRun.objects.count() == 0


@pytest.mark.django_db
def test_run_of_a_dag_whose_script_was_removed_is_refused_with_the_definition_error(
    make_dag, tmp_path
):
    make_dag(ETL, {"extract.sh": "#!/bin/sh\n"})
    (tmp_path / "etl" / "extract.sh").unlink()
    assert refusal("run", "etl") == (
        "DAG etl: node 'extract': script 'extract.sh' does not exist in the DAG folder"
    )
    assert DagRun.objects.count() == 0


# ------------------------------------------------------------------------- runs


@pytest.mark.django_db
def test_runs_list_json_filters_by_dag_and_state_newest_first(make_dag):
    etl = make_dag({"name": "etl", **TWO_NODES})
    other = make_dag({"name": "other", **TWO_NODES})
    older = add_run(etl, state=RunState.FAILED, created_at=T0, error="Deadline passed",
                    nodes={"a": NodeState.SUCCEEDED, "b": NodeState.FAILED})  # fmt: skip
    newer = add_run(etl, state=RunState.FAILED, created_at=T0 + timedelta(minutes=5), seconds=1)
    add_run(etl, state=RunState.SUCCEEDED, created_at=T0 + timedelta(minutes=9))
    add_run(other, state=RunState.FAILED, created_at=T0 + timedelta(minutes=7))

    body = json_of("runs", "list", "--dag", "etl", "--state", "failed")

    assert body == [
        {"id": newer.pk, "dag": "etl", "state": "failed", "trigger": "manual",
         "triggered_by": "", "scheduled_for": None, "created_at": "2026-03-01T12:05:00+00:00",
         "started_at": "2026-03-01T12:05:00+00:00", "finished_at": "2026-03-01T12:05:01+00:00",
         "duration_seconds": 1.0, "error": "", "nodes_total": 0, "nodes_done": 0},
        {"id": older.pk, "dag": "etl", "state": "failed", "trigger": "manual",
         "triggered_by": "", "scheduled_for": None, "created_at": "2026-03-01T12:00:00+00:00",
         "started_at": "2026-03-01T12:00:00+00:00",
         "finished_at": "2026-03-01T12:00:02.500000+00:00", "duration_seconds": 2.5,
         "error": "Deadline passed", "nodes_total": 2, "nodes_done": 1},
    ]  # fmt: skip
    assert [run["dag"] for run in json_of("runs", "list", "--limit", "2")] == ["etl", "other"]


@pytest.mark.django_db
def test_runs_list_prints_a_table_newest_first(make_dag):
    etl = make_dag({"name": "etl", **TWO_NODES})
    first = add_run(etl, created_at=T0, nodes={"a": NodeState.SUCCEEDED})
    second = add_run(
        etl, state=RunState.RUNNING, created_at=T0 + timedelta(minutes=1), triggered_by="ana"
    )

    assert command("runs", "list").splitlines() == [
        "RUN  DAG  STATE      TRIGGER        CREATED              DURATION  NODES DONE",
        f"{second.pk:<3}  etl  running    manual by ana  2026-03-01 12:01:00  -         0/0",
        f"{first.pk:<3}  etl  succeeded  manual         2026-03-01 12:00:00  2.50s     1/1",
    ]


@pytest.mark.django_db
def test_runs_list_refuses_an_unknown_dag_state_or_limit():
    assert refusal("runs", "list", "--dag", "nope") == "no DAG is named 'nope'"
    assert refusal("runs", "list", "--state", "lost").startswith(
        "Error: argument --state: invalid choice: 'lost'"
    )
    assert refusal("runs", "list", "--limit", "0") == (
        "Error: argument --limit: invalid positive_int value: '0'"
    )


@pytest.mark.django_db
def test_runs_show_json_gives_each_node_its_state_attempts_timings_and_error(make_dag):
    run = add_run(
        make_dag({"name": "etl", **TWO_NODES}),
        state=RunState.FAILED,
        params={"REGION": "eu"},
        deadline_at=T0 + timedelta(minutes=10),
    )
    NodeRun.objects.bulk_create([
        NodeRun(run=run, node_id="a", state=NodeState.SUCCEEDED, attempts=1, queue="dags",
                worker="w1@host", started_at=T0, finished_at=T0 + timedelta(seconds=1.25),
                exit_code=0),
        NodeRun(run=run, node_id="b", state=NodeState.FAILED, attempts=3, queue="dags",
                worker="w2@host", started_at=T0 + timedelta(seconds=2),
                finished_at=T0 + timedelta(seconds=2.5), exit_code=3,
                error="exited with code 3"),
    ])  # fmt: skip

    body = json_of("runs", "show", str(run.pk))

    assert body == {
        "id": run.pk, "dag": "etl", "state": "failed", "trigger": "manual", "triggered_by": "",
        "scheduled_for": None, "created_at": "2026-03-01T12:00:00+00:00",
        "started_at": "2026-03-01T12:00:00+00:00",
        "finished_at": "2026-03-01T12:00:02.500000+00:00", "duration_seconds": 2.5,
        "error": "", "nodes_total": 2, "nodes_done": 1, "params": {"REGION": "eu"},
        "deadline_at": "2026-03-01T12:10:00+00:00",
        "nodes": [
            {"node": "a", "state": "succeeded", "attempts": 1, "queue": "dags",
             "worker": "w1@host", "started_at": "2026-03-01T12:00:00+00:00",
             "finished_at": "2026-03-01T12:00:01.250000+00:00", "duration_seconds": 1.25,
             "exit_code": 0, "error": "", "pid": None},
            {"node": "b", "state": "failed", "attempts": 3, "queue": "dags",
             "worker": "w2@host", "started_at": "2026-03-01T12:00:02+00:00",
             "finished_at": "2026-03-01T12:00:02.500000+00:00", "duration_seconds": 0.5,
             "exit_code": 3, "error": "exited with code 3", "pid": None},
        ],
    }  # fmt: skip
    text = command("runs", "show", str(run.pk))
    assert "  b     failed     3         2026-03-01 12:00:02" in text
    assert text.rstrip().endswith("0.50s     3     exited with code 3")


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("runs", "show", "424242"), "no run has the id 424242"),
        (("runs", "show", "abc"), "no run has the id 'abc'"),
        (("logs", "424242"), "no run has the id 424242"),
        (("cancel", "424242"), "no run has the id 424242"),
        (("retry", "x"), "no run has the id 'x'"),
    ],
)
def test_an_unknown_run_is_refused_with_its_id(args, message):
    assert refusal(*args) == message


@pytest.mark.django_db
def test_logs_of_a_node_the_run_does_not_have_is_refused(make_dag):
    run = add_run(make_dag({"name": "etl", **TWO_NODES}), nodes={"a": NodeState.SUCCEEDED})
    assert refusal("logs", str(run.pk), "zz") == f"run {run.pk} has no node 'zz'"


@pytest.mark.django_db
def test_cancel_of_a_finished_run_is_refused_and_changes_nothing(make_dag):
    run = add_run(make_dag({"name": "etl", **TWO_NODES}), state=RunState.SUCCEEDED)
    before = database_rows()
    assert refusal("cancel", str(run.pk)) == (
        f"run {run.pk} has already finished (succeeded); there is nothing to cancel"
    )
    assert database_rows() == before
    assert DagRun.objects.get().state == RunState.SUCCEEDED


@pytest.mark.django_db
def test_retry_of_a_running_run_is_refused_and_changes_nothing(make_dag):
    run = add_run(make_dag({"name": "etl", **TWO_NODES}), state=RunState.RUNNING)
    before = database_rows()
    assert refusal("retry", str(run.pk)) == (
        f"run {run.pk} is running; only a failed or cancelled run can be retried"
    )
    assert database_rows() == before


# ------------------------------------------------------------------------- through the worker

HELLO = "#!/bin/sh\necho \"hello from $DAGYARD_NODE\"\necho 'a warning' >&2\n"


@pytest.mark.django_db(transaction=True)
def test_run_wait_prints_each_change_then_the_outcome_and_exits_0(celery_worker, make_dag):
    make_dag(
        {"name": "chain", "nodes": [
            {"id": "a", "command": "hello.sh"},
            {"id": "b", "command": "hello.sh", "in": ["a"]},
            {"id": "c", "command": "hello.sh", "in": ["b"]},
        ]},
        {"hello.sh": "#!/bin/sh\nsleep 0.3\n"},
    )  # fmt: skip

    lines = command("run", "chain", "--wait").splitlines()

    run = DagRun.objects.get()
    assert run.state == RunState.SUCCEEDED
    assert lines[-2] == (
        f"run {run.pk} [##############################] 3/3 done, 0 running, 0 waiting, 0 failed"
    )
    assert FINAL_LINE.fullmatch(lines[-1]).groups()[:2] == (str(run.pk), "succeeded")
    progress = lines[:-1]
    assert all(line.startswith(f"run {run.pk} [") for line in progress)
    assert all(before != after for before, after in zip(progress, progress[1:], strict=False))
    assert len(progress) >= 3  # at least one line while each node ran or waited


@pytest.mark.django_db(transaction=True)
def test_run_wait_exits_1_when_a_node_fails(celery_worker, make_dag):
    make_dag(
        {"name": "breaks", "nodes": [
            {"id": "a", "command": "fail.sh"},
            {"id": "b", "command": ["/bin/true"], "in": ["a"]},
        ]},
        {"fail.sh": "#!/bin/sh\nexit 3\n"},
    )  # fmt: skip
    out = io.StringIO()

    assert exit_code("run", "breaks", "--wait", stdout=out) == 1

    run = DagRun.objects.get()
    assert run.state == RunState.FAILED
    last = out.getvalue().splitlines()[-2:]
    assert last[0].endswith("0/2 done, 0 running, 0 waiting, 2 failed")
    assert FINAL_LINE.fullmatch(last[1]).groups()[:2] == (str(run.pk), "failed")


@pytest.mark.django_db(transaction=True)
def test_run_wait_json_prints_only_the_finished_run(celery_worker, make_dag):
    make_dag({"name": "quick", "nodes": [{"id": "a", "command": ["/bin/true"]}]})

    body = json_of("run", "quick", "--wait")

    assert (body["state"], body["nodes_done"], body["triggered_by"]) == (
        "succeeded",
        1,
        getpass.getuser(),
    )
    assert body["nodes"][0]["exit_code"] == 0
    assert body["duration_seconds"] > 0


@pytest.mark.django_db(transaction=True)
def test_run_wait_on_a_terminal_redraws_one_progress_line_in_place(
    celery_worker, make_dag, monkeypatch
):
    monkeypatch.setenv("COLUMNS", "100")
    make_dag(
        {"name": "pair", "nodes": [
            {"id": "a", "command": "nap.sh"}, {"id": "b", "command": "nap.sh", "in": ["a"]},
        ]},
        {"nap.sh": "#!/bin/sh\nsleep 0.3\n"},
    )  # fmt: skip
    terminal = Terminal()

    command("run", "pair", "--wait", stdout=terminal)

    run = DagRun.objects.get()
    progress, outcome, end = terminal.getvalue().split("\n")
    assert end == ""
    assert progress.startswith(f"\rrun {run.pk} [")
    assert progress.count("\r") >= 2
    assert progress.endswith("2/2 done, 0 running, 0 waiting, 0 failed\x1b[K")
    assert FINAL_LINE.fullmatch(outcome).groups()[:2] == (str(run.pk), "succeeded")


@pytest.mark.django_db(transaction=True)
def test_run_wait_exit_codes_reach_the_shell(celery_worker, make_dag, test_database_url):
    make_dag({"name": "fine", "nodes": [{"id": "ok", "command": ["/bin/true"]}]})
    make_dag({"name": "bad", "nodes": [{"id": "no", "command": ["/bin/false"]}]})

    def dagyard(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "orchestrator.cli", *args],
            cwd=REPO_ROOT,
            env=process_environment(DATABASE_URL=test_database_url),
            capture_output=True,
            text=True,
            timeout=90,
            check=False,
        )

    succeeded, failed = dagyard("run", "fine", "--wait"), dagyard("run", "bad", "--wait")

    assert (succeeded.returncode, succeeded.stderr) == (0, "")
    assert " succeeded in " in succeeded.stdout.splitlines()[-1]
    assert (failed.returncode, failed.stderr) == (1, "")
    assert " failed in " in failed.stdout.splitlines()[-1]


def process_gone(pid: int) -> bool:
    """Gone, or a zombie its parent has not reaped yet (it runs nothing any more)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    status = Path(f"/proc/{pid}/status")
    try:
        return "\nState:\tZ" in status.read_text()
    except FileNotFoundError:
        return True


@pytest.mark.django_db(transaction=True)
def test_cancel_stops_a_long_running_run_and_kills_its_script(celery_worker, make_dag, tmp_path):
    make_dag(
        {"name": "sleepy", "nodes": [
            {"id": "nap", "command": "nap.sh"}, {"id": "after", "command": "nap.sh", "in": ["nap"]},
        ]},
        {"nap.sh": "#!/bin/sh\necho $$ > pid.txt\nexec sleep 30\n"},
    )  # fmt: skip
    run_id = int(command("run", "sleepy"))
    pid_file = tmp_path / "sleepy" / "pid.txt"
    wait_until(lambda: pid_file.exists() and pid_file.read_text().strip(), what="script started")
    pid = int(pid_file.read_text())
    assert not process_gone(pid)
    assert command("logs", str(run_id), "nap").startswith(
        f"attempt 1: running on {celery_worker.hostname}"
    )
    running = json_of("logs", str(run_id), "nap")
    assert (running["state"], running["attempts"]) == ("running", [])
    assert (running["running_attempt"]["number"], running["running_attempt"]["worker"]) == (
        1, celery_worker.hostname
    )  # fmt: skip
    assert command("logs", str(run_id), "after") == (
        f"node after of run {run_id} has no attempts (pending)\n"
    )

    assert command("cancel", str(run_id)) == f"run {run_id} cancelled\n"

    run = DagRun.objects.get(pk=run_id)
    assert (run.state, run.error) == (RunState.CANCELLED, f"Run cancelled by {getpass.getuser()}")
    assert set(run.node_runs.values_list("node_id", "state")) == {
        ("nap", NodeState.CANCELLED), ("after", NodeState.CANCELLED)
    }  # fmt: skip
    wait_until(lambda: process_gone(pid), timeout=15, what=f"script {pid} killed")
    wait_until(
        lambda: NodeAttempt.objects.filter(node_run__run=run, outcome="cancelled").exists(),
        timeout=15,
        what="the attempt recorded as cancelled",
    )
    assert refusal("cancel", str(run_id)) == (
        f"run {run_id} has already finished (cancelled); there is nothing to cancel"
    )


@pytest.mark.django_db(transaction=True)
def test_retry_runs_only_the_failed_node_and_its_dependants(celery_worker, make_dag, tmp_path):
    record = '#!/bin/sh\necho "$DAGYARD_NODE" >> ran.txt\n'
    make_dag(
        {"name": "flaky", "nodes": [
            {"id": "first", "command": "record.sh"},
            {"id": "flaky", "command": "flaky.sh", "in": ["first"]},
            {"id": "last", "command": "record.sh", "in": ["flaky"]},
        ]},
        {"record.sh": record, "flaky.sh": record + "test -e fixed.flag\n"},
    )  # fmt: skip
    folder = tmp_path / "flaky"
    assert exit_code("run", "flaky", "--wait") == 1
    run = DagRun.objects.get()
    assert dict(run.node_runs.values_list("node_id", "state")) == {
        "first": NodeState.SUCCEEDED, "flaky": NodeState.FAILED,
        "last": NodeState.UPSTREAM_FAILED,
    }  # fmt: skip
    (folder / "fixed.flag").touch()

    assert command("retry", str(run.pk)) == f"run {run.pk} running\n"

    run = wait_for_run(run)
    assert run.state == RunState.SUCCEEDED
    assert dict(run.node_runs.values_list("node_id", "attempts")) == {
        "first": 1, "flaky": 2, "last": 1
    }  # fmt: skip
    assert (folder / "ran.txt").read_text().split() == ["first", "flaky", "flaky", "last"]
    assert f"Run retried by {getpass.getuser()}: 2 node(s) run again" in command(
        "logs", str(run.pk)
    )


@pytest.mark.django_db(transaction=True)
def test_logs_show_the_event_log_and_each_attempt_with_its_output(celery_worker, make_dag):
    make_dag(
        {"name": "hello", "failure_policy": "continue", "nodes": [
            {"id": "greet", "command": "hello.sh"},
            {"id": "sulk", "command": ["/bin/sh", "-c", "echo sulking; exit 3"]},
        ]},
        {"hello.sh": HELLO},
    )  # fmt: skip
    assert exit_code("run", "hello", "--wait") == 1
    run = DagRun.objects.get()

    events = command("logs", str(run.pk)).splitlines()
    greet = command("logs", str(run.pk), "greet")
    sulk = json_of("logs", str(run.pk), "sulk")

    stamp = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}"
    worker = re.escape(celery_worker.hostname)
    assert re.fullmatch(
        rf"{stamp}  INFO   -      Run started \(manual by {getpass.getuser()}\) with 2 node\(s\)",
        events[0],
    ), events
    assert re.fullmatch(rf"{stamp}  ERROR  -      Run failed in \d+\.\d\ds", events[-1]), events
    # The two nodes run side by side, so the lines between come in either order.
    middle = [
        rf"{stamp}  INFO   greet  Attempt 1 started on {worker}",
        rf"{stamp}  INFO   greet  Attempt 1 succeeded in \d+\.\d{{3}}s",
        rf"{stamp}  INFO   sulk   Attempt 1 started on {worker}",
        rf"{stamp}  INFO   sulk   Attempt 1 failed after \d+\.\d{{3}}s \(exit code 3\)",
        rf"{stamp}  ERROR  sulk   Node sulk failed: exited with code 3",
    ]
    assert len(events) == len(middle) + 2, events
    for pattern in middle:
        assert sum(bool(re.fullmatch(pattern, line)) for line in events[1:-1]) == 1, (
            pattern,
            events,
        )
    assert re.fullmatch(
        rf"attempt 1: succeeded, exit code 0 on {re.escape(celery_worker.hostname)}\n"
        rf"  started {stamp}  ended {stamp}  duration \d+\.\d\ds\n"
        r"  \| hello from greet\n"
        r"  \| a warning\n",
        greet,
    ), greet
    attempt = NodeAttempt.objects.get(node_run__node_id="sulk")
    assert sulk == {
        "run": run.pk,
        "node": "sulk",
        "state": "failed",
        "running_attempt": None,
        "attempts": [
            {"number": 1, "worker": celery_worker.hostname,
             "started_at": attempt.started_at.isoformat(),
             "finished_at": attempt.finished_at.isoformat(),
             "duration_seconds": round(attempt.duration_seconds, 3), "exit_code": 3,
             "outcome": "failed", "output": "sulking\n", "output_truncated": False},
        ],
    }  # fmt: skip
    failure = RunEvent.objects.get(node_id="sulk")
    logged = json_of("logs", str(run.pk))["events"]
    assert len(logged) == len(events)
    assert {
        "time": failure.created_at.isoformat(),
        "level": "ERROR",
        "node": "sulk",
        "message": "Node sulk failed: exited with code 3",
    } in logged


@pytest.mark.django_db(transaction=True)
def test_retry_right_after_cancel_leaves_no_script_of_the_cancelled_attempt_running(
    celery_worker, make_dag, tmp_path
):
    make_dag(
        {"name": "nappy", "nodes": [{"id": "nap", "command": "nap.sh"}]},
        {"nap.sh": "#!/bin/sh\necho $$ >> pids.txt\nexec sleep 30\n"},
    )
    pids = tmp_path / "nappy" / "pids.txt"

    def started() -> list[int]:
        return [int(pid) for pid in pids.read_text().split()] if pids.exists() else []

    run_id = command("run", "nappy").strip()
    try:
        # The race needs the cancelled process's once-a-second check to fall after the retry's
        # new attempt has started, which it does most times; three rounds make a miss rare.
        for round_ in range(1, 4):
            wait_until(lambda n=round_: len(started()) == n, what=f"start {round_}")
            command("cancel", run_id)
            command("retry", run_id)
            wait_until(lambda n=round_: len(started()) == n + 1, what=f"start {round_ + 1}")
            cancelled = started()[-2]
            wait_until(lambda p=cancelled: process_gone(p), timeout=5, what=f"{cancelled} killed")
    finally:
        with contextlib.suppress(CommandError):
            command("cancel", run_id)
        for pid in started():
            wait_until(lambda p=pid: process_gone(p), timeout=15, what=f"{pid} killed")
