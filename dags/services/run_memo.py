"""A small per-process memo keyed by run: what a worker works out once for a run and reuses for
each of the run's nodes it executes."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Generic, TypeVar

from dags.models import DagRun

T = TypeVar("T")


class RunMemo(Generic[T]):
    """Keeps ``compute(run)`` for the ``size`` most recently used runs."""

    def __init__(self, compute: Callable[[DagRun], T], size: int = 128) -> None:
        self.compute = compute
        self.size = size
        self.lock = threading.Lock()
        self.items: OrderedDict[int, T] = OrderedDict()

    def get(self, run: DagRun) -> T:
        with self.lock:
            if run.pk in self.items:
                self.items.move_to_end(run.pk)
                return self.items[run.pk]
        value = self.compute(run)
        with self.lock:
            self.items[run.pk] = value
            while len(self.items) > self.size:
                self.items.popitem(last=False)
        return value
