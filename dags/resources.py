"""Cheap host readings for the resource gate.

psutil's CPU figure is the average since the previous call, so the gate never blocks for a
half-second sample: readings younger than `MAX_AGE_SECONDS` are reused, so a burst of launches
costs one sample, and an older one measures the time since. Only the first reading in a process,
or one after a long idle spell (whose average would describe the past), takes a short sample.
Disk space is read for the DAG's own folder (a statvfs call), since that is where its scripts
write.
"""

from __future__ import annotations

import os
import shutil
import threading
import time
from pathlib import Path

import psutil

from dags.engine.gate import HostReading

MAX_AGE_SECONDS = 1.0
STALE_AFTER_SECONDS = 10.0
FRESH_SAMPLE_SECONDS = 0.1


class HostSampler:
    def __init__(self, max_age: float = MAX_AGE_SECONDS) -> None:
        self.max_age = max_age
        self._lock = threading.Lock()
        self._taken_at = 0.0
        self._cpu = self._memory = 0.0
        self._load: float | None = None

    def read(self, folder: Path) -> HostReading:
        with self._lock:
            now = time.monotonic()
            age = now - self._taken_at
            if age > self.max_age:
                fresh = FRESH_SAMPLE_SECONDS if age > STALE_AFTER_SECONDS else None
                self._cpu = psutil.cpu_percent(interval=fresh)
                self._memory = psutil.virtual_memory().percent
                self._load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
                self._taken_at = time.monotonic()
            cpu, memory, load = self._cpu, self._memory, self._load
        disk_free_mb = shutil.disk_usage(folder).free / (1024 * 1024)
        return HostReading(cpu, memory, disk_free_mb, load)


_sampler: HostSampler | None = None


def host_sampler() -> HostSampler:
    global _sampler
    if _sampler is None:
        _sampler = HostSampler()
    return _sampler
