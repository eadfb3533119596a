"""The AutoClone manager: one tick reads every parent, asks the engine, and acts once per minute.

A tick reads all candidate parents, their auto clones and their status rows in three queries,
whatever the number of DAGs or clones; only a parent with something to do costs more. Each
create or delete first claims the minute with a guarded UPDATE of the parent's status row keyed
on the `last_action_at` it read: of two managers ticking at once, one claims and acts, the other
updates no row and does nothing. The claim and the action share a transaction, so a failed
action gives the minute back.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from dags.engine.autoclone import (
    Action,
    AutoCloneConfig,
    AutoCloneState,
    decide,
    minute_of,
    parse_autoclone,
    status_text,
)
from dags.models import AutoCloneStatus, Clone, Dag
from dags.services.clones import make_clone, remove_clone

logger = logging.getLogger(__name__)

PARENT_STOPPED = "the DAG is stopped"


@dataclass(frozen=True, slots=True)
class ParentView:
    """What the manager knows of one parent at a tick, as plain data."""

    dag: Dag
    config: AutoCloneConfig
    clones: list[tuple[str, datetime]]
    state: AutoCloneState
    last_action_at: datetime | None
    has_status_row: bool


@dataclass
class TickReport:
    lines: list[str] = field(default_factory=list)

    def say(self, line: str) -> None:
        logger.info("autoclone: %s", line)
        self.lines.append(line)


def autoclone_config(dag: Dag) -> AutoCloneConfig:
    """The DAG's AutoClone configuration; a stopped DAG counts as disabled, so its clones go."""
    config = parse_autoclone((dag.definition or {}).get("autoclone"))
    if config.enabled and dag.is_paused:
        return AutoCloneConfig(
            enabled=False,
            reason=PARENT_STOPPED,
            ramp_up_time=config.ramp_up_time,
            ramp_down_time=config.ramp_down_time,
            ramp_count=config.ramp_count,
        )
    return config


def parents_to_manage() -> list[ParentView]:
    """Every DAG with an autoclone section or auto clones left, in three queries."""
    with_auto_clones = Clone.objects.filter(is_auto_clone=True).values("parent_id")
    parents = list(
        Dag.objects.filter(Q(definition__has_key="autoclone") | Q(pk__in=with_auto_clones))
    )
    ids = [dag.pk for dag in parents]
    clones: dict[int, list[tuple[str, datetime]]] = defaultdict(list)
    for parent_id, name, created_at in Clone.objects.filter(
        parent_id__in=ids, is_auto_clone=True
    ).values_list("parent_id", "dag__name", "created_at"):
        clones[parent_id].append((name, created_at))
    statuses = {row.dag_id: row for row in AutoCloneStatus.objects.filter(dag_id__in=ids)}
    views = []
    for dag in parents:
        status = statuses.get(dag.pk)
        views.append(
            ParentView(
                dag=dag,
                config=autoclone_config(dag),
                clones=clones[dag.pk],
                state=AutoCloneState(status.state) if status else AutoCloneState.IDLE,
                last_action_at=status.last_action_at if status else None,
                has_status_row=status is not None,
            )
        )
    return views


def ensure_status_rows(dag_ids: list[int]) -> None:
    AutoCloneStatus.objects.bulk_create(
        [AutoCloneStatus(dag_id=dag_id) for dag_id in dag_ids], ignore_conflicts=True
    )


def claim(view: ParentView, *, state: AutoCloneState, now: datetime) -> bool:
    """Take this minute's action for the parent; False when another manager took it first."""
    moved = AutoCloneStatus.objects.filter(dag=view.dag, last_action_at=view.last_action_at).update(
        state=state.value, last_action_at=now
    )
    return bool(moved)


def set_state(view: ParentView, state: AutoCloneState) -> bool:
    moved = AutoCloneStatus.objects.filter(dag=view.dag, state=view.state.value).update(
        state=state.value
    )
    return bool(moved)


def ramp_up_clone(view: ParentView, *, state: AutoCloneState, now: datetime) -> Dag | None:
    """Create and start one auto clone of the parent, unless another manager acted this minute."""
    with transaction.atomic():
        if not claim(view, state=state, now=now):
            return None
        return make_clone(
            parent=view.dag, now=now, by="autoclone", auto=True, minute=minute_of(now)
        )


def ramp_down_clone(view: ParentView, *, name: str, state: AutoCloneState, now: datetime) -> bool:
    """Stop and delete the named (oldest) auto clone, unless another manager acted this minute."""
    with transaction.atomic():
        if not claim(view, state=state, now=now):
            return False
        clone = Dag.objects.filter(name=name, clone_link__is_auto_clone=True).first()
        if clone is not None:
            remove_clone(dag=clone)
    return True


def remove_orphans(report: TickReport) -> None:
    """Auto clones whose parent was deleted go at once: there is no parent left to pace them."""
    for clone in Dag.objects.filter(clone_link__is_auto_clone=True, clone_link__parent=None):
        remove_clone(dag=clone)
        report.say(f"deleted {clone.name}: its parent was deleted")


def manage(view: ParentView, *, now: datetime, report: TickReport) -> None:
    decision = decide(
        view.config,
        now_local=timezone.localtime(now),
        clones=view.clones,
        state=view.state,
        last_action_at=view.last_action_at,
    )
    name = view.dag.name
    count = len(view.clones)
    ramp_count = view.config.ramp_count
    if decision.action is Action.CREATE:
        clone = ramp_up_clone(view, state=decision.state, now=now)
        if clone is not None:
            status = status_text(decision.state, clones=count + 1, ramp_count=ramp_count)
            report.say(f"{name}: created {clone.name}; {status}")
    elif decision.action is Action.DELETE and decision.clone:
        if ramp_down_clone(view, name=decision.clone, state=decision.state, now=now):
            status = status_text(decision.state, clones=count - 1, ramp_count=ramp_count)
            report.say(f"{name}: deleted {decision.clone}; {status}")
    elif decision.action is Action.SET_STATE and set_state(view, decision.state):
        report.say(f"{name}: {status_text(decision.state, clones=count, ramp_count=ramp_count)}")


def tick(now: datetime | None = None) -> TickReport:
    """One manager pass over every parent. A parent whose action fails is logged and tried
    again at the next tick; the others carry on."""
    now = now or timezone.now()
    report = TickReport()
    remove_orphans(report)
    views = parents_to_manage()
    # Only parents without a row: one that never acted has a row too, and inserting it again
    # at every tick would be a write (and on SQLite the write lock) with nothing due.
    ensure_status_rows([view.dag.pk for view in views if not view.has_status_row])
    for view in views:
        try:
            manage(view, now=now, report=report)
        except Exception:  # one parent's failure must not stop the others
            logger.exception("AutoClone tick failed for DAG %s", view.dag.name)
            report.say(f"{view.dag.name}: failed, will try again at the next tick")
    return report


@dataclass(frozen=True, slots=True)
class AutoCloneSummary:
    """A parent's AutoClone as pages, API and CLI show it."""

    dag: str
    enabled: bool
    reason: str
    state: AutoCloneState
    status: str
    ramp_count: int
    ramp_up_time: str
    ramp_down_time: str
    clones: list[str]

    def to_data(self) -> dict:
        return {
            "dag": self.dag,
            "enabled": self.enabled,
            "reason": self.reason,
            "state": self.state.value,
            "status": self.status,
            "ramp_count": self.ramp_count,
            "ramp_up_time": self.ramp_up_time,
            "ramp_down_time": self.ramp_down_time,
            "clones": self.clones,
        }


def summaries() -> list[AutoCloneSummary]:
    """Every parent with an autoclone section or auto clones left, by name."""
    found = []
    for view in sorted(parents_to_manage(), key=lambda view: view.dag.name):
        config = view.config
        ordered = [name for name, _ in sorted(view.clones, key=lambda c: (c[1], c[0]))]
        found.append(
            AutoCloneSummary(
                dag=view.dag.name,
                enabled=config.enabled,
                reason=config.reason,
                state=view.state,
                status=status_text(view.state, clones=len(ordered), ramp_count=config.ramp_count),
                ramp_count=config.ramp_count,
                ramp_up_time=config.ramp_up_time.strftime("%H%M") if config.ramp_up_time else "",
                ramp_down_time=(
                    config.ramp_down_time.strftime("%H%M") if config.ramp_down_time else ""
                ),
                clones=ordered,
            )
        )
    return found


@dataclass(frozen=True, slots=True)
class CloneMark:
    """How the dashboard marks a clone: "↳ Clone of {parent}", with the Auto badge when
    AutoClone manages it (and without the actions it may not take)."""

    parent: str
    is_auto_clone: bool


@dataclass(frozen=True, slots=True)
class DashboardAutoClone:
    """Everything the dashboard needs for AutoClone, in three queries plus the summaries'."""

    parents: dict[str, AutoCloneSummary]
    """By parent name: badge (enabled/disabled and why), status text, clone names."""
    clones: dict[str, CloneMark]
    """By clone name: its parent and whether it is an auto clone."""
    total_dags: int
    parent_count: int
    clone_count: int

    @property
    def totals_text(self) -> str:
        """ "Total DAGs: 6 (1 parent + 5 clones)" as the seed's dashboard shows it, with
        ", more coming..." while a parent ramps up and ", decreasing..." while one ramps down."""
        if not self.clone_count:
            alone = "parent only" if self.total_dags == 1 else "no clones"
            return f"Total DAGs: {self.total_dags} ({alone})"
        parents = f"{self.parent_count} parent{'s' if self.parent_count != 1 else ''}"
        clones = f"{self.clone_count} clone{'s' if self.clone_count != 1 else ''}"
        return f"Total DAGs: {self.total_dags} ({parents} + {clones}{self.trend})"

    @property
    def trend(self) -> str:
        states = {summary.state for summary in self.parents.values()}
        up = AutoCloneState.RAMPING_UP in states
        down = AutoCloneState.RAMPING_DOWN in states
        if up and down:
            return ", changing..."
        if up:
            return ", more coming..."
        return ", decreasing..." if down else ""


def dashboard_autoclone() -> DashboardAutoClone:
    marks = {
        name: CloneMark(parent=parent or "", is_auto_clone=auto)
        for name, parent, auto in Clone.objects.values_list(
            "dag__name", "parent__name", "is_auto_clone"
        )
    }
    total = Dag.objects.count()
    return DashboardAutoClone(
        parents={summary.dag: summary for summary in summaries()},
        clones=marks,
        total_dags=total,
        parent_count=total - len(marks),
        clone_count=len(marks),
    )
