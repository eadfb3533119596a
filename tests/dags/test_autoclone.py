"""The AutoClone manager against the database, with the clock moved by time-machine."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.conf import settings
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from dags.engine.autoclone import MISSING_FIELDS, AutoCloneState
from dags.errors import DagError
from dags.models import AutoCloneStatus, Clone, Dag
from dags.services import autoclone
from dags.services.clones import (
    AUTO_CLONE_MANAGED,
    CLONE_NAME_TOO_LONG,
    AutoCloneManaged,
    clone_dag,
    clone_position,
    ensure_not_auto_clone,
)
from dags.services.control import set_paused

ZONE = ZoneInfo(settings.TIME_ZONE)
SCRIPT = {"work.sh": "#!/bin/sh\necho working\n"}
DAY = datetime(2025, 1, 25, tzinfo=ZONE)


def definition(name: str = "my_dag", **section: object) -> dict:
    data: dict = {"name": name, "nodes": [{"id": "work", "command": "work.sh"}]}
    data["autoclone"] = section or {
        "ramp_up_time": "0900",
        "ramp_down_time": "1700",
        "ramp_count": 5,
    }
    return data


@pytest.fixture
def parent(make_dag: Callable[..., Dag]) -> Dag:
    return make_dag(definition(), SCRIPT)


def at(hour: int, minute: int, second: int = 0, day: datetime = DAY) -> datetime:
    return day.replace(hour=hour, minute=minute, second=second)


def tick_at(moment: datetime) -> list[str]:
    with time_machine.travel(moment, tick=False):
        return autoclone.tick().lines


def clone_names(parent: Dag) -> list[str]:
    return list(
        Clone.objects.filter(parent=parent, is_auto_clone=True)
        .order_by("created_at")
        .values_list("dag__name", flat=True)
    )


def status_of(parent: Dag) -> str:
    return next(s.status for s in autoclone.summaries() if s.dag == parent.name)


def every(start: datetime, end: datetime, seconds: int) -> list[datetime]:
    moments, now = [], start
    while now < end:
        moments.append(now)
        now += timedelta(seconds=seconds)
    return moments


@pytest.mark.django_db
def test_the_seeds_day_creates_five_clones_from_0900_and_deletes_them_from_1700(
    parent: Dag,
) -> None:
    # Every minute through the day, and every 10 seconds (as beat does) around both ramps.
    moments = sorted(
        set(every(at(0, 0, 30), at(23, 59, 59), 60))
        | set(every(at(8, 59), at(9, 7), 10))
        | set(every(at(16, 59), at(17, 7), 10))
    )
    seen: dict[datetime, tuple[list[str], str, list[str]]] = {}
    for moment in moments:
        lines = tick_at(moment)
        seen[moment] = (lines, status_of(parent), clone_names(parent))

    names = [f"my_dag_20250125{hhmm}00" for hhmm in ("0900", "0901", "0902", "0903", "0904")]
    assert seen[at(8, 59, 50)][2] == []
    assert seen[at(9, 0)] == ([f"my_dag: created {names[0]}; ramping_up (1/5)"],
                              "ramping_up (1/5)", names[:1])  # fmt: skip
    assert seen[at(9, 0, 50)] == ([], "ramping_up (1/5)", names[:1])
    assert seen[at(9, 1)][1:] == ("ramping_up (2/5)", names[:2])
    assert seen[at(9, 2)][1:] == ("ramping_up (3/5)", names[:3])
    assert seen[at(9, 3)][1:] == ("ramping_up (4/5)", names[:4])
    assert seen[at(9, 4)] == ([f"my_dag: created {names[4]}; active"], "active", names)
    assert seen[at(9, 5)] == ([], "active", names)
    assert seen[at(12, 0, 30)] == ([], "active", names)
    assert seen[at(17, 0)] == ([f"my_dag: deleted {names[0]}; ramping_down (4 remaining)"],
                               "ramping_down (4 remaining)", names[1:])  # fmt: skip
    assert seen[at(17, 1)][1:] == ("ramping_down (3 remaining)", names[2:])
    assert seen[at(17, 2)][1:] == ("ramping_down (2 remaining)", names[3:])
    assert seen[at(17, 3)][1:] == ("ramping_down (1 remaining)", names[4:])
    assert seen[at(17, 4)] == ([f"my_dag: deleted {names[4]}; idle"], "idle", [])
    assert seen[at(23, 59, 30)] == ([], "idle", [])
    assert not Dag.objects.filter(name__startswith="my_dag_").exists()
    # The clones were real, started DAGs with the parent's nodes and no autoclone section.
    created = [line for lines, _, _ in seen.values() for line in lines if "created" in line]
    assert len(created) == 5


@pytest.mark.django_db
def test_clones_are_started_copies_of_the_parent(parent: Dag) -> None:
    tick_at(at(9, 0))
    clone = Dag.objects.get(name="my_dag_20250125090000")
    assert not clone.is_paused
    assert clone.definition["nodes"] == parent.definition["nodes"]
    assert "autoclone" not in clone.definition
    assert clone.clone_link.is_auto_clone
    assert clone.clone_link.parent == parent
    assert clone_position(clone.pk) == (1, 1)
    assert clone_position(parent.pk) == (0, 1)


@pytest.mark.django_db
def test_a_window_across_midnight(make_dag: Callable[..., Dag]) -> None:
    dag = make_dag(
        definition("night", ramp_up_time="2358", ramp_down_time="0030", ramp_count=3), SCRIPT
    )
    tomorrow = DAY + timedelta(days=1)
    moments = every(at(23, 57), at(23, 59, 59), 10)
    moments += every(at(0, 0, day=tomorrow), at(0, 1, day=tomorrow), 10)
    for moment in moments:
        tick_at(moment)
    assert clone_names(dag) == ["night_20250125235800", "night_20250125235900",
                                "night_20250126000000"]  # fmt: skip
    assert status_of(dag) == "active"
    tick_at(at(0, 29, 50, day=tomorrow))
    assert len(clone_names(dag)) == 3
    for moment in every(at(0, 30, day=tomorrow), at(0, 34, day=tomorrow), 10):
        tick_at(moment)
    assert clone_names(dag) == []
    assert status_of(dag) == "idle"


@pytest.mark.django_db
def test_a_manager_down_at_ramp_up_time_ramps_up_from_where_it_is_when_back(parent: Dag) -> None:
    assert tick_at(at(11, 30, 5)) == ["my_dag: created my_dag_20250125113005; ramping_up (1/5)"]
    tick_at(at(11, 30, 45))
    assert len(clone_names(parent)) == 1
    for minute in range(31, 36):
        tick_at(at(11, minute))
    assert len(clone_names(parent)) == 5
    assert status_of(parent) == "active"


@pytest.mark.django_db
def test_a_restart_mid_ramp_neither_duplicates_nor_loses_a_clone(parent: Dag) -> None:
    tick_at(at(9, 0))
    tick_at(at(9, 1))
    # The manager was restarted: nothing is kept in memory, everything is read again.
    tick_at(at(9, 1, 30))
    assert clone_names(parent) == ["my_dag_20250125090000", "my_dag_20250125090100"]
    tick_at(at(9, 3, 20))
    assert clone_names(parent)[-1] == "my_dag_20250125090320"
    assert status_of(parent) == "ramping_up (3/5)"


@pytest.mark.django_db(transaction=True)
def test_two_managers_ticking_at_once_create_one_clone_in_a_minute(
    make_dag: Callable[..., Dag],
) -> None:
    parent = make_dag(definition(), SCRIPT)
    barrier = threading.Barrier(2)
    reports: list[list[str]] = []
    failures: list[BaseException] = []

    def manager(second: int) -> None:
        try:
            barrier.wait()
            reports.append(autoclone.tick(at(9, 0, second)).lines)
        except BaseException as error:  # noqa: BLE001 - reported to the test below
            failures.append(error)
        finally:
            connection.close()

    for _ in range(3):  # three rounds in the same minute and the next
        threads = [threading.Thread(target=manager, args=(s,)) for s in (1, 2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert failures == []
    assert len(clone_names(parent)) == 1
    assert sum(len(lines) for lines in reports) == 1


@pytest.mark.django_db
def test_disabling_autoclone_ramps_the_clones_down(make_dag: Callable[..., Dag]) -> None:
    parent = make_dag(definition(), SCRIPT)
    for minute in range(3):
        tick_at(at(10, minute))
    assert len(clone_names(parent)) == 3
    parent = make_dag(definition(ramp_up_time="0900", ramp_down_time="1700"), SCRIPT)
    summary = next(s for s in autoclone.summaries() if s.dag == "my_dag")
    assert not summary.enabled
    assert summary.reason == MISSING_FIELDS.format(fields="ramp_count")
    lines = tick_at(at(10, 5))
    assert lines == ["my_dag: deleted my_dag_20250125100000; ramping_down (2 remaining)"]
    tick_at(at(10, 6))
    tick_at(at(10, 7))
    assert clone_names(parent) == []
    assert status_of(parent) == "idle"


@pytest.mark.django_db
def test_stopping_the_parent_ramps_its_clones_down(parent: Dag) -> None:
    tick_at(at(10, 0))
    tick_at(at(10, 1))
    set_paused(dag=parent, paused=True)
    assert tick_at(at(10, 2)) == [
        "my_dag: deleted my_dag_20250125100000; ramping_down (1 remaining)"
    ]
    tick_at(at(10, 3))
    assert clone_names(parent) == []
    set_paused(dag=parent, paused=False)
    tick_at(at(10, 4))
    assert len(clone_names(parent)) == 1


@pytest.mark.django_db
def test_deleting_the_parent_removes_its_auto_clones_and_keeps_manual_ones(parent: Dag) -> None:
    tick_at(at(10, 0))
    tick_at(at(10, 1))
    with time_machine.travel(at(10, 1, 30), tick=False):
        manual = clone_dag(dag=parent, by="alice")
    parent.delete()
    lines = tick_at(at(10, 2))
    assert sorted(lines) == [
        "deleted my_dag_20250125100000: its parent was deleted",
        "deleted my_dag_20250125100100: its parent was deleted",
    ]
    assert list(Dag.objects.values_list("name", flat=True)) == [manual.name]
    assert AutoCloneStatus.objects.count() == 0


@pytest.mark.django_db
def test_a_manual_clone_is_ordinary_and_autoclone_leaves_it_alone(parent: Dag) -> None:
    with time_machine.travel(at(8, 0, 7), tick=False):
        manual = clone_dag(dag=parent, by="alice")
    assert manual.name == "my_dag_20250125080007"
    assert not manual.clone_link.is_auto_clone
    assert manual.clone_link.created_by == "alice"
    ensure_not_auto_clone(manual, action="deleted")  # no refusal
    tick_at(at(9, 0))
    tick_at(at(17, 0))
    assert Dag.objects.filter(pk=manual.pk).exists()
    assert clone_position(manual.pk) == (1, 1)


@pytest.mark.django_db
def test_an_auto_clone_refuses_hand_changes_and_says_autoclone_manages_it(parent: Dag) -> None:
    tick_at(at(9, 0))
    clone = Dag.objects.get(name="my_dag_20250125090000")
    with pytest.raises(AutoCloneManaged) as refusal:
        ensure_not_auto_clone(clone, action="deleted")
    assert str(refusal.value) == AUTO_CLONE_MANAGED.format(
        name=clone.name, parent="my_dag", action="deleted"
    )
    assert "AutoClone manages it" in str(refusal.value)


@pytest.mark.django_db
def test_the_manager_tick_reads_a_constant_number_of_queries(
    make_dag: Callable[..., Dag], django_assert_max_num_queries
) -> None:
    for index in range(4):
        make_dag(
            definition(f"p{index}"),
            SCRIPT,
        )
    for minute in range(5):
        tick_at(at(10, minute))
    assert Clone.objects.count() == 20
    with time_machine.travel(at(10, 30), tick=False), django_assert_max_num_queries(4):
        assert autoclone.tick().lines == []


@pytest.mark.django_db
def test_a_tick_with_nothing_due_writes_nothing_for_parents_that_never_acted(
    make_dag: Callable[..., Dag],
) -> None:
    for index in range(3):
        make_dag(definition(f"p{index}"), SCRIPT)
    assert tick_at(at(8, 0)) == []
    assert AutoCloneStatus.objects.filter(last_action_at=None).count() == 3
    with time_machine.travel(at(8, 1), tick=False), CaptureQueriesContext(connection) as queries:
        assert autoclone.tick().lines == []
    assert [q["sql"].split()[0] for q in queries.captured_queries] == ["SELECT"] * 4


@pytest.mark.django_db
def test_cli_tick_prints_what_it_did_and_status_lists_parents(parent: Dag) -> None:
    out = StringIO()
    call_command("autoclone", "tick", "--at", "2025-01-25 09:00", stdout=out)
    assert out.getvalue().strip() == "my_dag: created my_dag_20250125090000; ramping_up (1/5)"
    out = StringIO()
    call_command("autoclone", "tick", "--at", "2025-01-25 09:00:30", stdout=out)
    assert out.getvalue().strip() == "nothing to do"
    out = StringIO()
    call_command("autoclone", "status", stdout=out)
    assert out.getvalue().splitlines() == [
        "my_dag: ramping_up (1/5) (enabled, 0900-1700 x5)",
        "  ↳ my_dag_20250125090000",
    ]
    out = StringIO()
    call_command("autoclone", "status", "--json", stdout=out)
    assert json.loads(out.getvalue()) == [
        {
            "dag": "my_dag",
            "enabled": True,
            "reason": "",
            "state": AutoCloneState.RAMPING_UP.value,
            "status": "ramping_up (1/5)",
            "ramp_count": 5,
            "ramp_up_time": "0900",
            "ramp_down_time": "1700",
            "clones": ["my_dag_20250125090000"],
        }
    ]


@pytest.mark.django_db
def test_the_dashboard_data_marks_clones_and_counts_the_totals(parent: Dag) -> None:
    for minute in range(5):
        tick_at(at(9, minute))
    board = autoclone.dashboard_autoclone()
    assert board.totals_text == "Total DAGs: 6 (1 parent + 5 clones)"
    assert board.parents["my_dag"].status == "active"
    assert board.parents["my_dag"].enabled
    assert len(board.parents["my_dag"].clones) == 5
    assert board.clones["my_dag_20250125090000"] == autoclone.CloneMark("my_dag", True)


@pytest.mark.django_db
def test_a_clone_name_that_would_not_fit_is_refused_and_nothing_is_made(
    make_dag: Callable[..., Dag],
) -> None:
    long_name = "x" * 190
    dag = make_dag({"name": long_name, "nodes": [{"id": "work", "command": "work.sh"}]}, SCRIPT)
    with time_machine.travel(at(8, 0), tick=False), pytest.raises(DagError) as refusal:
        clone_dag(dag=dag)
    assert str(refusal.value) == CLONE_NAME_TOO_LONG.format(
        parent=long_name, name=f"{long_name}_20250125080000", limit=200
    )
    assert Dag.objects.count() == 1
