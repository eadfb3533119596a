"""Celery tasks of the autoscaler: load ids, call a service, return plain data."""

from __future__ import annotations

import functools

from celery import shared_task
from django.db import transaction
from django.utils import timezone

from autoscaler.services import agent, pools, workers


@shared_task(name="autoscaler.tick")
def tick() -> list[int]:
    """Claim the pools whose evaluation is due and evaluate each in its own task."""
    claimed = pools.claim_due_pools(now=timezone.now())
    for pool_id in claimed:
        transaction.on_commit(functools.partial(evaluate_pool.delay, pool_id))
    return claimed


@shared_task(name="autoscaler.evaluate_pool", acks_late=True)
def evaluate_pool(pool_id: int) -> str | None:
    evaluation = pools.evaluate_pool_safely(pool_id, now=timezone.now())
    return evaluation.outcome if evaluation else None


@shared_task(name="autoscaler.check_schedules")
def check_schedules() -> int:
    return len(pools.evaluate_schedules(now=timezone.now()))


@shared_task(name="autoscaler.scale_worker_pools")
def scale_worker_pools() -> dict[str, int]:
    demands = workers.scale_worker_pools(now=timezone.now())
    return {demand.worker_type: demand.desired for demand in demands}


@shared_task(name="autoscaler.heartbeat")
def heartbeat() -> str:
    return agent.heartbeat(now=timezone.now()).outcome.value


@shared_task(name="autoscaler.prune_evaluations")
def prune_evaluations() -> int:
    return pools.prune_evaluations(now=timezone.now())
