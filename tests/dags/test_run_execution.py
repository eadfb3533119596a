"""Runs through the real broker and a real worker: order, parallelism, exactly-once dispatch."""

from __future__ import annotations

import json

import pytest

from dags.models import NodeAttempt
from dags.services.runs import start_run
from dags.states import NodeState, RunState
from tests.dags.conftest import wait_for_run

pytestmark = pytest.mark.django_db(transaction=True)

STAMP = """#!/bin/sh
# Record when this node starts and ends, for the order and overlap assertions.
echo "$DAGYARD_NODE start $(date +%s.%N)" >> stamps.txt
sleep "${PAUSE:-0.4}"
echo "$DAGYARD_NODE end $(date +%s.%N)" >> stamps.txt
"""


def stamps(folder) -> dict[tuple[str, str], float]:
    lines = (folder / "stamps.txt").read_text().split("\n")
    return {(n, w): float(t) for n, w, t in (line.split() for line in lines if line)}


def test_diamond_runs_in_order_with_siblings_overlapping(celery_worker, make_dag, tmp_path):
    dag = make_dag(
        {"name": "diamond", "nodes": [
            {"id": "a", "command": "stamp.sh"},
            {"id": "b", "command": "stamp.sh", "in": ["a"]},
            {"id": "c", "command": "stamp.sh", "in": ["a"]},
            {"id": "d", "command": "stamp.sh", "in": ["b", "c"]},
        ]},
        {"stamp.sh": STAMP},
    )  # fmt: skip
    run = wait_for_run(start_run(dag=dag))
    assert run.state == RunState.SUCCEEDED
    times = stamps(tmp_path / "diamond")
    assert times[("a", "end")] <= times[("b", "start")]
    assert times[("a", "end")] <= times[("c", "start")]
    assert times[("b", "start")] < times[("c", "end")]
    assert times[("c", "start")] < times[("b", "end")]
    assert times[("d", "start")] >= max(times[("b", "end")], times[("c", "end")])
    assert set(run.node_runs.values_list("state", flat=True)) == {NodeState.SUCCEEDED}


def test_a_child_of_many_parents_finishing_together_runs_exactly_once(
    celery_worker, make_dag, tmp_path
):
    parents = [f"p{i}" for i in range(8)]
    dag = make_dag(
        {"name": "fan-in", "nodes": [
            *({"id": p, "command": ["/bin/true"]} for p in parents),
            {"id": "child", "command": "child.sh", "in": parents},
        ]},
        {"child.sh": "#!/bin/sh\necho ran >> child-runs.txt\n"},
    )  # fmt: skip
    for _ in range(3):
        run = wait_for_run(start_run(dag=dag))
        assert run.state == RunState.SUCCEEDED
    assert (tmp_path / "fan-in" / "child-runs.txt").read_text() == "ran\n" * 3
    assert NodeAttempt.objects.filter(node_run__node_id="child").count() == 3


def test_nodes_see_their_run_in_the_environment_and_params_as_values(
    celery_worker, make_dag, tmp_path
):
    dag = make_dag(
        {"name": "env-check", "nodes": [{"id": "show", "command": "show.py"}]},
        {"show.py": (
            "import json, os\n"
            "keys = ['DAGYARD_DAG', 'DAGYARD_RUN_ID', 'DAGYARD_NODE', 'DAGYARD_ATTEMPT', 'REGION',"
            " 'QUOTE', 'SECRET_KEY', 'DATABASE_URL', 'REDIS_URL']\n"
            "print(json.dumps({k: os.environ.get(k) for k in keys}))\n"
        )},
    )  # fmt: skip
    run = start_run(dag=dag, params={"REGION": "eu", "QUOTE": "'; rm -rf / #"})
    run = wait_for_run(run)
    assert run.state == RunState.SUCCEEDED
    output = NodeAttempt.objects.get(node_run__run=run).output
    seen = json.loads(output)
    assert seen == {
        "DAGYARD_DAG": "env-check", "DAGYARD_RUN_ID": str(run.pk), "DAGYARD_NODE": "show",
        "DAGYARD_ATTEMPT": "1", "REGION": "eu", "QUOTE": "'; rm -rf / #",
        "SECRET_KEY": None, "DATABASE_URL": None, "REDIS_URL": None,
    }  # fmt: skip
