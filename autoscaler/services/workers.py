"""Worker pools sized on queue depth: read the queues, compute desired workers, act locally.

Queue depths come from `orchestrator.broker.queue_depths`.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from autoscaler.cloud_access import local_worker_pool
from autoscaler.models import WorkerPool
from autoscaler.queue_scaling import desired_workers
from orchestrator.broker import queue_depths

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class WorkerDemand:
    worker_type: str
    depth: int
    desired: int


def worker_demand(
    pools: Iterable[WorkerPool], *, depths: Mapping[str, int] | None = None
) -> list[WorkerDemand]:
    """Desired workers for each worker pool from its queue's live depth (read unless given)."""
    pools = list(pools)
    if depths is None:
        depths = queue_depths(pool.worker_type for pool in pools)
    return [
        WorkerDemand(
            worker_type=pool.worker_type,
            depth=depths[pool.worker_type],
            desired=desired_workers(
                depths[pool.worker_type],
                factor=pool.factor,
                minimum=pool.min_workers,
                maximum=pool.max_workers,
            ),
        )
        for pool in pools
    ]


def scale_worker_pools(*, now: dt.datetime) -> list[WorkerDemand]:
    """Start or stop local workers so each opted-in worker pool has its desired count."""
    pools = list(WorkerPool.objects.filter(scale_local_workers=True))
    demands = worker_demand(pools)
    provider = local_worker_pool()
    for pool, demand in zip(pools, demands, strict=True):
        try:
            change = provider.resize(pool.worker_type, demand.desired)
        except (OSError, ValueError):
            logger.exception("worker pool %s: could not resize", pool.worker_type)
            continue
        if change:
            logger.info(
                "worker pool %s: depth %d wants %d workers (%+d)",
                pool.worker_type, demand.depth, demand.desired, change,
            )  # fmt: skip
        WorkerPool.objects.filter(pk=pool.pk).update(
            last_depth=demand.depth, last_desired=demand.desired, last_scaled_at=now
        )
    return demands
