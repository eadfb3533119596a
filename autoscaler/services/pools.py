"""Evaluating pools, driving schedules and importing ``config.yaml``: the only code that scales.

Every evaluation is recorded as a :class:`PoolEvaluation`, whatever it decided (errors included),
so a person can always see why a pool did or did not change. Cloud and metrics failures become an
ERROR evaluation instead of an exception: one broken pool never stops the others.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.db.models import Max, Q
from django.utils import timezone

from autoscaler.cloud_access import collector_for_pool, provider_for
from autoscaler.collectors.base import CollectionError, PoolMetrics
from autoscaler.decision import (
    SIZE_CHANGES,
    Outcome,
    ScalingDecision,
    decide,
    failed_decision,
)
from autoscaler.errors import POOL_NAME_TAKEN, UNKNOWN_POOL, AutoscalerError, NotFound
from autoscaler.models import Pool, PoolEvaluation, pool_fields_from_config
from autoscaler.pool_config import (
    PoolConfig,
    dump_pools_yaml,
    load_pools_yaml,
    pool_from_mapping,
    pool_to_mapping,
)
from autoscaler.providers.base import ProviderError
from autoscaler.schedules import active_schedule, schedule_decision
from autoscaler.states import EvaluationSource

logger = logging.getLogger(__name__)

# What a cloud, a metrics source or a stale row can throw at an evaluation. ValueError covers
# PoolConfigError, UnknownMonitoringMethod and a refused size.
EVALUATION_ERRORS = (ProviderError, CollectionError, ValueError)

ERR_SET_SIZE = "could not set the size from {size} to {target}: {error}"
ERR_UNEXPECTED = "unexpected {kind}: {error}"


def evaluate_pool(pool: Pool, *, now: dt.datetime, dry_run: bool = False) -> PoolEvaluation:
    """Collect the pool's metrics, decide, resize when the decision says so, and record it.

    With ``dry_run`` nothing is resized and nothing is saved: the returned evaluation (unsaved)
    is what the loop would do now.
    """
    size: int | None = None
    metrics: PoolMetrics | None = None
    try:
        config = pool.to_config()
        # One view per evaluation: collecting and sizing share one read of the pool's record.
        provider = provider_for(config, one_evaluation=True)
        metrics = collector_for_pool(config, provider).collect(config)
        size = provider.current_size(config)
    except EVALUATION_ERRORS as error:
        return _record_failure(pool, error=str(error), now=now, size=size, metrics=metrics,
                               dry_run=dry_run)  # fmt: skip

    decision = decide(
        config,
        current_size=size,
        cpu=metrics.avg_cpu,
        ram=metrics.avg_ram,
        now=timezone.localtime(now),
        history=_history(pool, now),
    )
    if decision.outcome is Outcome.HOLD_MISSING_METRICS:
        logger.warning("pool %s: %s", pool.name, decision.reason)
    if decision.changes_size and not dry_run:
        try:
            provider.set_size(config, _target(decision))
        except EVALUATION_ERRORS as error:
            message = ERR_SET_SIZE.format(size=size, target=decision.target_size, error=error)
            return _record_failure(pool, error=message, now=now, size=size, metrics=metrics,
                                   dry_run=dry_run)  # fmt: skip
        logger.info("pool %s: %s", pool.name, decision.reason)
    return _record(pool, decision, metrics=metrics, dry_run=dry_run)


def evaluate_pool_safely(pool_id: int, *, now: dt.datetime) -> PoolEvaluation | None:
    """Evaluate one pool for the loop: even an unexpected failure is recorded, never raised."""
    pool = Pool.objects.filter(pk=pool_id).first()
    if pool is None:
        return None
    try:
        return evaluate_pool(pool, now=now)
    except Exception as error:
        logger.exception("pool %s: evaluation failed unexpectedly", pool.name)
        message = ERR_UNEXPECTED.format(kind=type(error).__name__, error=error)
        return _record_failure(pool, error=message, now=now, size=None, metrics=None)


def prune_evaluations(*, now: dt.datetime, keep_days: int | None = None) -> int:
    """Delete evaluations older than ``keep_days`` (``DAGYARD_EVALUATION_RETENTION_DAYS``,
    default 30); a pool's latest evaluation is always kept, however old."""
    if keep_days is None:
        keep_days = int(os.environ.get("DAGYARD_EVALUATION_RETENTION_DAYS", "30"))
    cutoff = now - dt.timedelta(days=keep_days)
    latest = Pool.objects.annotate(latest=Max("evaluations__id")).values_list("latest", flat=True)
    deleted, _ = (
        PoolEvaluation.objects.filter(at__lt=cutoff)
        .exclude(pk__in=[pk for pk in latest if pk is not None])
        .delete()
    )
    return deleted


def claim_due_pools(*, now: dt.datetime) -> list[int]:
    """Pools whose evaluation is due, each claimed by one guarded write.

    Claiming moves ``next_evaluation_at`` one interval on; a second tick that read the same row
    updates nothing and leaves the pool to the first, so a pool is never evaluated twice per
    interval however many beat processes run.
    """
    due = Pool.objects.filter(Q(next_evaluation_at__isnull=True) | Q(next_evaluation_at__lte=now))
    claimed: list[int] = []
    for pk, interval, previous in due.values_list(
        "pk", "evaluation_interval_seconds", "next_evaluation_at"
    ):
        moved = Pool.objects.filter(pk=pk, next_evaluation_at=previous).update(
            next_evaluation_at=now + dt.timedelta(seconds=interval)
        )
        if moved:
            claimed.append(pk)
    return claimed


def evaluate_due_pools(*, now: dt.datetime) -> list[PoolEvaluation]:
    """Claim and evaluate every due pool in this process (the CLI and tests; the loop fans out)."""
    evaluations = [evaluate_pool_safely(pk, now=now) for pk in claim_due_pools(now=now)]
    return [evaluation for evaluation in evaluations if evaluation is not None]


def evaluate_schedules(*, now: dt.datetime) -> list[PoolEvaluation]:
    """Drive every pool inside a schedule window to the window's target.

    Only moves and failures are recorded: a pool already at its target would otherwise add a row
    every minute. Pools outside every window are not touched (metric scaling owns them).
    """
    recorded: list[PoolEvaluation] = []
    local_now = timezone.localtime(now)
    for pool in Pool.objects.all():
        try:
            evaluation = _apply_schedule(pool, now=now, local_now=local_now)
        except Exception as error:
            logger.exception("pool %s: schedule check failed unexpectedly", pool.name)
            message = ERR_UNEXPECTED.format(kind=type(error).__name__, error=error)
            evaluation = _record_failure(
                pool, error=message, now=now, size=None, metrics=None,
                source=EvaluationSource.SCHEDULE,
            )  # fmt: skip
        if evaluation is not None:
            recorded.append(evaluation)
    return recorded


@dataclass(frozen=True)
class ImportReport:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    paused: list[str] = field(default_factory=list)


def import_pools(yaml_text: str, *, pause_missing: bool = False) -> ImportReport:
    """Create or update the pools of a ``config.yaml``; pools not in the file are kept.

    The whole file is validated before anything is written, and written in one transaction:
    one bad pool refuses the file (:class:`PoolConfigError` naming it) and changes nothing.
    With ``pause_missing`` (an agent following its central config) the pools the file no longer
    describes are paused rather than deleted, so their history stays readable.
    """
    configs = load_pools_yaml(yaml_text)
    report = ImportReport()
    with transaction.atomic():
        for config in configs:
            _save_config(config, report)
        if pause_missing:
            described = {config.label for config in configs}
            for pool in Pool.objects.exclude(name__in=described).filter(paused=False):
                pool.paused = True
                pool.save(update_fields=["paused", "updated_at"])
                report.paused.append(pool.name)
    return report


def save_pool(mapping: Any, *, pool: Pool | None = None) -> Pool:
    """Create a pool from one ``config.yaml`` entry, or replace ``pool``'s settings with it.

    The entry is validated like the file (:class:`PoolConfigError` naming the field); a name
    another pool already has is refused. A changed pool is evaluated on the next tick.
    """
    config = pool_from_mapping(mapping)
    fields = pool_fields_from_config(config)
    clash = Pool.objects.filter(name=fields["name"])
    if pool is not None:
        clash = clash.exclude(pk=pool.pk)
    if clash.exists():
        raise AutoscalerError(POOL_NAME_TAKEN.format(name=fields["name"]), field="name")
    target = pool or Pool()
    for name, value in fields.items():
        setattr(target, name, value)
    target.next_evaluation_at = None
    target.save()
    return target


def pool_body(pool: Pool) -> dict[str, Any]:
    """A pool as the API shows it: its id and its ``config.yaml`` entry."""
    return {"id": pool.pk, **pool_to_mapping(pool.to_config())}


def pool_detail_body(pool: Pool) -> dict[str, Any]:
    """One pool as the API shows it: :func:`pool_body` and its latest evaluation (or None)."""
    latest = pool.evaluations.order_by("-at", "-id").first()
    body = pool_body(pool)
    body["latest_evaluation"] = (
        {
            "at": latest.at.isoformat(),
            "source": latest.source,
            "outcome": latest.outcome,
            "reason": latest.reason,
            "size_before": latest.size_before,
            "size_after": latest.size_after,
            "cpu": latest.cpu,
            "ram": latest.ram,
        }
        if latest
        else None
    )
    return body


def export_pools() -> str:
    """Every pool as a ``config.yaml`` that :func:`import_pools` reads back unchanged."""
    return dump_pools_yaml([pool.to_config() for pool in Pool.objects.all()])


def find_pool(name_or_id: str) -> Pool:
    """A pool by name, or by its instance pool id; raises :class:`NotFound`."""
    pool = (
        Pool.objects.filter(name=name_or_id).first()
        or Pool.objects.filter(instance_pool_id=name_or_id).first()
    )
    if pool is None:
        raise NotFound(UNKNOWN_POOL.format(name=name_or_id))
    return pool


def _save_config(config: PoolConfig, report: ImportReport) -> None:
    fields = pool_fields_from_config(config)
    pool = Pool.objects.filter(name=fields["name"]).first()
    if pool is None:
        Pool(**fields).save()
        report.created.append(config.label)
        return
    if pool.to_config() == config:
        report.unchanged.append(config.label)
        return
    for name, value in fields.items():
        setattr(pool, name, value)
    pool.next_evaluation_at = None  # a changed pool is evaluated on the next tick
    pool.save()
    report.updated.append(config.label)


def _apply_schedule(
    pool: Pool, *, now: dt.datetime, local_now: dt.datetime
) -> PoolEvaluation | None:
    config = pool.to_config()
    if active_schedule(config.schedules, local_now) is None:
        return None
    source = EvaluationSource.SCHEDULE
    size: int | None = None
    try:
        provider = provider_for(config)
        size = provider.current_size(config)
        decision = schedule_decision(config, current_size=size, now=local_now)
        if decision is None or decision.outcome in (Outcome.NO_ACTION, Outcome.PAUSED):
            return None
        if decision.changes_size:
            provider.set_size(config, _target(decision))
    except EVALUATION_ERRORS as error:
        return _record_failure(pool, error=str(error), now=now, size=size, metrics=None,
                               source=source)  # fmt: skip
    logger.info("pool %s: %s", pool.name, decision.reason)
    return _record(pool, decision, metrics=None, source=source)


def _history(pool: Pool, now: dt.datetime) -> list[ScalingDecision]:
    """What the decision needs of the past: the recent metric rounds and the last resize.

    At most two bounded queries, whatever the length of the history, and none for a pool that
    uses neither rule that reads the past: a single breach acts at once, so earlier rounds
    only matter with ``sustained_breaches`` above 1 (where the last resize also ends a streak),
    and the last resize otherwise only matters to a cooldown. Most pools keep the seed's
    defaults, so a round does not pay for history it cannot use.
    """
    counts_breaches = pool.sustained_breaches > 1
    cools_down = pool.scale_up_cooldown_seconds > 0 or pool.scale_down_cooldown_seconds > 0
    earlier = pool.evaluations.filter(at__lte=now).order_by("-at", "-id")
    recent: list[PoolEvaluation] = []
    last_change: PoolEvaluation | None = None
    if counts_breaches:
        recent = list(earlier.filter(source=EvaluationSource.METRICS)[: pool.sustained_breaches])
    if counts_breaches or cools_down:
        last_change = earlier.filter(outcome__in=[o.value for o in SIZE_CHANGES]).first()
    rows = {row.pk: row for row in [*recent, *([last_change] if last_change else [])]}
    return [row.to_decision() for row in rows.values()]


def _target(decision: ScalingDecision) -> int:
    if decision.target_size is None:  # only ERROR decisions lack a size, and they never resize
        raise ValueError(decision.reason)
    return decision.target_size


def _record(
    pool: Pool,
    decision: ScalingDecision,
    *,
    metrics: PoolMetrics | None,
    error: str = "",
    source: EvaluationSource = EvaluationSource.METRICS,
    dry_run: bool = False,
) -> PoolEvaluation:
    evaluation = PoolEvaluation(
        pool=pool,
        at=decision.at,
        source=source,
        outcome=decision.outcome.value,
        reason=decision.reason,
        pressure=decision.pressure.value,
        cpu=decision.cpu,
        ram=decision.ram,
        instances=[
            {"id": entry.instance_id, "cpu": entry.cpu, "ram": entry.ram}
            for entry in (metrics.instances if metrics else ())
        ],
        size_before=decision.current_size,
        size_after=decision.target_size,
        error=error,
    )
    if not dry_run:
        evaluation.save()
    return evaluation


def _record_failure(
    pool: Pool,
    *,
    error: str,
    now: dt.datetime,
    size: int | None,
    metrics: PoolMetrics | None,
    source: EvaluationSource = EvaluationSource.METRICS,
    dry_run: bool = False,
) -> PoolEvaluation:
    logger.error("pool %s: %s", pool.name, error)
    decision = failed_decision(
        _config_or_placeholder(pool),
        error=error,
        now=now,
        current_size=size,
        cpu=metrics.avg_cpu if metrics else None,
        ram=metrics.avg_ram if metrics else None,
    )
    return _record(pool, decision, metrics=metrics, error=error, source=source, dry_run=dry_run)


def _config_or_placeholder(pool: Pool) -> PoolConfig:
    """The pool's config for the failure record, even when the row itself is what failed."""
    from autoscaler.pool_config import PoolConfigError, ScalingLimits

    try:
        return pool.to_config()
    except PoolConfigError:
        return PoolConfig(
            instance_pool_id=pool.instance_pool_id,
            region=pool.region,
            monitoring_method=pool.monitoring_method,
            cpu_threshold=100,
            ram_threshold=100,
            scaling_limits=ScalingLimits(min=0, max=0),
            name=pool.name,
        )
