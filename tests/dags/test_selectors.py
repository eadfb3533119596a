"""Read queries: what they return, what they refuse, and that their cost does not grow."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

import pytest

from dags import selectors
from dags.errors import DagError
from dags.models import Dag, DagRun, NodeAttempt, NodeRun, RunEvent
from dags.states import RUN_TERMINAL, NodeState, RunState

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)
TWO_NODES = {
    "nodes": [
        {"id": "a", "command": ["/bin/true"]},
        {"id": "b", "command": ["/bin/true"], "in": ["a"]},
    ]
}


def add_run(
    dag: Dag,
    *,
    state: RunState = RunState.SUCCEEDED,
    created_at: datetime = T0,
    seconds: float = 2.5,
    nodes: Mapping[str, NodeState] | None = None,
    **fields: object,
) -> DagRun:
    """A run row as the services leave it, at a fixed time, without sending anything."""
    finished = created_at + timedelta(seconds=seconds) if state in RUN_TERMINAL else None
    run = DagRun.objects.create(
        dag=dag,
        state=state,
        definition=dag.definition,
        folder=dag.folder,
        started_at=created_at,
        finished_at=finished,
        **fields,
    )
    DagRun.objects.filter(pk=run.pk).update(created_at=created_at)
    NodeRun.objects.bulk_create(
        NodeRun(run=run, node_id=node_id, state=node_state)
        for node_id, node_state in (nodes or {}).items()
    )
    run.refresh_from_db()
    return run


def test_dag_summaries_give_each_dag_its_active_runs_last_run_and_next_time(make_dag):
    nightly = make_dag({"name": "nightly", "schedule": "0 2 * * *", **TWO_NODES})
    manual = make_dag({"name": "manual", "max_active_runs": 3, **TWO_NODES})
    make_dag({"name": "paused", "schedule": "@hourly", **TWO_NODES})
    Dag.objects.filter(name="paused").update(is_paused=True)
    add_run(nightly, state=RunState.FAILED, created_at=T0)
    last = add_run(nightly, state=RunState.SUCCEEDED, created_at=T0 + timedelta(hours=1))
    add_run(manual, state=RunState.RUNNING, created_at=T0)
    add_run(manual, state=RunState.QUEUED, created_at=T0 + timedelta(minutes=1))

    summaries = selectors.dag_summaries(now=T0)

    assert [
        (s.dag.name, s.active_runs, s.last_run_id, s.last_run_state, s.last_run_at, s.next_run_at)
        for s in summaries
    ] == [
        ("manual", 2, manual.runs.order_by("-created_at").first().pk, RunState.QUEUED,
         T0 + timedelta(minutes=1), None),
        ("nightly", 0, last.pk, RunState.SUCCEEDED, T0 + timedelta(hours=1),
         datetime(2026, 3, 2, 2, 0, tzinfo=UTC)),
        ("paused", 0, None, None, None, None),
    ]  # fmt: skip


def test_dag_summaries_take_one_query_however_many_dags_and_runs(
    make_dag, django_assert_max_num_queries
):
    for index in range(6):
        dag = make_dag({"name": f"dag-{index}", "schedule": "*/5 * * * *", **TWO_NODES})
        for minute in range(3):
            add_run(dag, created_at=T0 + timedelta(minutes=minute))

    with django_assert_max_num_queries(1):
        summaries = selectors.dag_summaries()
        seen = [(s.dag.name, s.dag.schedule, s.active_runs, s.last_run_state) for s in summaries]

    assert len(seen) == 6


def test_runs_come_newest_first_with_their_dag_and_node_counts_in_one_query(
    make_dag, django_assert_max_num_queries
):
    dag = make_dag({"name": "etl", **TWO_NODES})
    for minute in range(20):
        add_run(
            dag,
            created_at=T0 + timedelta(minutes=minute),
            nodes={"a": NodeState.SUCCEEDED, "b": NodeState.FAILED},
        )

    with django_assert_max_num_queries(1):
        found = [
            (run.dag.name, run.created_at, run.nodes_total, run.nodes_done)
            for run in selectors.runs(limit=15)
        ]

    assert found == [("etl", T0 + timedelta(minutes=minute), 2, 1) for minute in range(19, 4, -1)]


def test_runs_filter_by_dag_and_state(make_dag):
    etl = make_dag({"name": "etl", **TWO_NODES})
    other = make_dag({"name": "other", **TWO_NODES})
    failed = add_run(etl, state=RunState.FAILED, created_at=T0)
    add_run(etl, state=RunState.SUCCEEDED, created_at=T0 + timedelta(minutes=1))
    add_run(other, state=RunState.FAILED, created_at=T0 + timedelta(minutes=2))

    assert [run.pk for run in selectors.runs(dag=etl, state="failed")] == [failed.pk]
    assert [run.pk for run in selectors.runs(dag=etl, state=RunState.FAILED)] == [failed.pk]
    assert [run.dag.name for run in selectors.runs(state=RunState.FAILED)] == ["other", "etl"]


def test_dag_detail_costs_the_same_few_queries_however_many_runs(
    make_dag, django_assert_max_num_queries
):
    dag = make_dag({"name": "etl", "labels": {"team": "data"}, **TWO_NODES})
    for minute in range(30):
        add_run(dag, created_at=T0 + timedelta(minutes=minute), nodes={"a": NodeState.SUCCEEDED})

    with django_assert_max_num_queries(3):
        detail = selectors.dag_detail("etl", recent=5)
        seen = [(run.dag.name, run.nodes_done) for run in detail.recent_runs]

    assert seen == [("etl", 1)] * 5
    assert [node.id for node in detail.definition.nodes] == ["a", "b"]
    assert detail.definition.labels == {"team": "data"}
    assert detail.active_runs == 0


def test_run_progress_counts_node_states_in_one_query(make_dag, django_assert_max_num_queries):
    dag = make_dag({"name": "etl", **TWO_NODES})
    states = [NodeState.SUCCEEDED] * 7 + [NodeState.RUNNING] * 2 + [NodeState.PENDING]
    run = add_run(
        dag,
        state=RunState.RUNNING,
        nodes={f"n{index}": state for index, state in enumerate(states)},
    )

    with django_assert_max_num_queries(1):
        progress = selectors.run_progress(run)

    assert progress == {NodeState.SUCCEEDED: 7, NodeState.RUNNING: 2, NodeState.PENDING: 1}


def test_a_run_its_nodes_events_and_attempts_cost_a_constant_number_of_queries(
    make_dag, django_assert_max_num_queries
):
    dag = make_dag({"name": "etl", **TWO_NODES})
    run = add_run(dag, nodes={f"n{index}": NodeState.SUCCEEDED for index in range(25)})
    node_run = NodeRun.objects.get(run=run, node_id="n3")
    for number in (1, 2, 3):
        NodeAttempt.objects.create(node_run=node_run, number=number, started_at=T0, output="x")
    for index in range(25):
        RunEvent.objects.create(run=run, node_id=f"n{index}", message=f"event {index}")

    with django_assert_max_num_queries(5):
        found = selectors.run_by_id(str(run.pk))
        nodes = [(n.node_id, n.state) for n in selectors.node_runs_of(found)]
        events = [e.message for e in selectors.events_of(found)]
        attempts = [(a.number, a.node_run_id) for a in selectors.attempts_of(found, "n3")]

    assert found.dag.name == "etl"
    assert nodes == [(f"n{index}", NodeState.SUCCEEDED) for index in range(25)]
    assert events == [f"event {index}" for index in range(25)]
    assert attempts == [(1, node_run.pk), (2, node_run.pk), (3, node_run.pk)]


def test_an_unknown_dag_name_is_refused_with_its_name():
    with pytest.raises(DagError) as refusal:
        selectors.dag_by_name("nope")
    assert str(refusal.value) == "no DAG is named 'nope'"
    with pytest.raises(DagError) as refusal:
        selectors.dag_detail("nope")
    assert str(refusal.value) == "no DAG is named 'nope'"


@pytest.mark.parametrize(
    ("given", "message"),
    [
        (999999, "no run has the id 999999"),
        ("999999", "no run has the id 999999"),
        ("abc", "no run has the id 'abc'"),
        ("-1", "no run has the id '-1'"),
        ("1" * 30, f"no run has the id '{'1' * 30}'"),
    ],
)
def test_an_unknown_or_malformed_run_id_is_refused_with_what_was_given(given, message):
    with pytest.raises(DagError) as refusal:
        selectors.run_by_id(given)
    assert str(refusal.value) == message


def test_a_node_the_run_does_not_have_is_refused(make_dag):
    run = add_run(make_dag({"name": "etl", **TWO_NODES}), nodes={"a": NodeState.SUCCEEDED})
    with pytest.raises(DagError) as refusal:
        selectors.attempts_of(run, "zz")
    assert str(refusal.value) == f"run {run.pk} has no node 'zz'"
    with pytest.raises(DagError) as refusal:
        selectors.node_run_of(run, "zz")
    assert str(refusal.value) == f"run {run.pk} has no node 'zz'"
