"""Clones of a DAG: made by hand (the user owns them) or by AutoClone (it manages them).

A clone is a copy of its parent's definition under the name `{parent}_{YYYYMMDDHHMMSS}` of its
creation time, started when created. A clone never carries the `autoclone` section itself, so
clones do not clone themselves.
"""

from __future__ import annotations

from datetime import datetime

from django.db import IntegrityError, transaction
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from dags.engine.autoclone import clone_name
from dags.engine.validation import NAME_PATTERN
from dags.errors import DagError
from dags.models import Clone, Dag, DagRun
from dags.services.definitions import definition_hash

NAME_LIMIT = Dag._meta.get_field("name").max_length
CLONE_NAME_TOO_LONG = (
    "a clone of {parent!r} would be named {name!r}, which is longer than {limit} characters; "
    "give the parent a shorter name"
)
CLONE_NAME_TAKEN = "a DAG named {name!r} already exists; clone again in a second"
AUTO_CLONE_MANAGED = (
    "DAG {name!r} is an auto clone of {parent!r}: AutoClone manages it, so it cannot be "
    "{action} by hand"
)


class AutoCloneManaged(DagError):
    """A person tried to edit, stop or delete a clone AutoClone manages."""


def auto_clone_link(dag: Dag) -> Clone | None:
    return Clone.objects.filter(dag=dag, is_auto_clone=True).select_related("parent").first()


def ensure_not_auto_clone(dag: Dag, *, action: str) -> None:
    """Refuse `action` ("edited", "stopped", "started", "deleted") on an auto clone."""
    link = auto_clone_link(dag)
    if link is not None:
        parent = link.parent.name if link.parent else "a deleted DAG"
        raise AutoCloneManaged(
            AUTO_CLONE_MANAGED.format(name=dag.name, parent=parent, action=action)
        )


def family_root(dag: Dag) -> Dag:
    """The DAG a clone of `dag` hangs under: `dag` itself, or its parent when it is a clone."""
    link = Clone.objects.filter(dag=dag, parent__isnull=False).select_related("parent").first()
    return link.parent if link is not None else dag


def clone_position(dag_id: int) -> tuple[int, int]:
    """(index, count) for the DAGYARD_CLONE_INDEX and DAGYARD_CLONE_COUNT variables: the parent
    is index 0, its clones 1..count in creation order; count is the number of clones now."""
    link = Clone.objects.filter(dag_id=dag_id, parent__isnull=False).values("parent_id").first()
    parent_id = link["parent_id"] if link else dag_id
    family = list(Clone.objects.filter(parent_id=parent_id).values_list("dag_id", flat=True))
    index = family.index(dag_id) + 1 if dag_id in family else 0
    return index, len(family)


def make_clone(
    *, parent: Dag, now: datetime, by: str = "", auto: bool = False, minute: datetime | None = None
) -> Dag:
    """Copy `parent` under its clone name, link it, and start it (schedule or continuous)."""
    name = clone_name(parent.name, timezone.localtime(now))
    if len(name) > NAME_LIMIT or not NAME_PATTERN.fullmatch(name):
        raise DagError(CLONE_NAME_TOO_LONG.format(parent=parent.name, name=name, limit=NAME_LIMIT))
    data = {key: value for key, value in parent.definition.items() if key != "autoclone"}
    data["name"] = name
    try:
        with transaction.atomic():
            dag = Dag.objects.create(
                name=name,
                description=parent.description,
                labels=dict(parent.labels),
                definition=data,
                definition_hash=definition_hash(data),
                folder=parent.folder,
                source_path=parent.source_path,
                schedule=parent.schedule,
                max_active_runs=parent.max_active_runs,
                is_paused=False,
            )
            Clone.objects.create(
                dag=dag,
                parent=parent,
                is_auto_clone=auto,
                created_at=now,
                created_by=by,
                autoclone_minute=minute,
            )
            from dags.services.scheduling import sync_schedule

            sync_schedule(dag)
    except IntegrityError as error:
        raise DagError(CLONE_NAME_TAKEN.format(name=name)) from error
    if data.get("run_mode") == "continuous":
        from dags.services.runs import continue_when_committed

        continue_when_committed(dag.pk)
    return dag


def clone_dag(*, dag: Dag, by: str = "", now: datetime | None = None) -> Dag:
    """The manual "Clone" action: an ordinary clone the user owns (edit, stop, delete freely)."""
    return make_clone(parent=family_root(dag), now=now or timezone.now(), by=by, auto=False)


def remove_clone(*, dag: Dag, by: str = "autoclone") -> None:
    """Stop a clone (no new runs, active runs cancelled), then delete it with its schedule."""
    from dags.services.control import set_paused
    from dags.services.scheduling import periodic_task_name

    set_paused(dag=dag, paused=True, cancel_active=True, by=by)
    with transaction.atomic():
        PeriodicTask.objects.filter(name=periodic_task_name(dag)).delete()
        DagRun.objects.filter(dag=dag).delete()
        Dag.objects.filter(pk=dag.pk).delete()
