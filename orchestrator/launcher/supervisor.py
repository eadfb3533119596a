"""Start, watch, restart and stop the launcher's child processes.

Each child runs in its own session (process group), so a Ctrl-C in the terminal reaches only the
launcher, which then stops the children in order: web and beat first, workers next (a warm
shutdown that lets running tasks finish), Redis last. A child that outlives its stop timeout is
killed with its whole process group, so no prefork or gunicorn grandchild is left behind. On
Linux each child also asks the kernel for SIGTERM should the launcher itself die.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

PR_SET_PDEATHSIG = 1
MAX_RESTART_DELAY_SECONDS = 30.0


def _die_with_parent() -> None:
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def child_popen_options() -> dict:
    return {"start_new_session": True, "preexec_fn": _die_with_parent}


@dataclass
class Child:
    name: str
    argv: list[str]
    log_path: Path
    env: dict[str, str]
    stop_order: int  # lower stops first
    process: subprocess.Popen | None = None
    restarts: int = 0
    restart_at: float | None = None
    pids_seen: set[int] = field(default_factory=set)

    def start(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                self.argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=self.env,
                **child_popen_options(),
            )
        self.pids_seen.add(self.process.pid)
        self.restart_at = None

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def ask_to_stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            _signal_group(self.process.pid, signal.SIGTERM)  # it leads its own session

    def wait_stopped(self, deadline: float) -> None:
        if self.process is None:
            return
        try:
            self.process.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            _signal_group(self.process.pid, signal.SIGKILL)
            self.process.wait()
        # Grandchildren that ignored their parent's exit go with the group.
        _signal_group(self.process.pid, signal.SIGKILL)


def _signal_group(group: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(group, signum)


@dataclass
class Supervisor:
    children: list[Child]
    say: Callable[[str], None]
    restart_crashed: bool = True

    def start_all(self) -> None:
        for child in self.children:
            child.start()

    def watch_once(self, now: float | None = None) -> None:
        """Restart children that died on their own, with a growing delay between tries."""
        now = time.monotonic() if now is None else now
        for child in self.children:
            if child.process is None or child.running:
                continue
            if child.restart_at is None:
                delay = min(2.0**child.restarts, MAX_RESTART_DELAY_SECONDS)
                child.restart_at = now + delay
                self.say(
                    f"{child.name} exited with code {child.process.returncode}; "
                    f"restarting in {delay:.0f} s (log: {child.log_path})"
                )
            elif now >= child.restart_at and self.restart_crashed:
                child.restarts += 1
                child.start()

    def stop_all(self, timeout: float) -> None:
        """Stop the children group by group (web and beat, then workers): each group is asked
        at once and given `timeout` seconds together."""
        for order in sorted({child.stop_order for child in self.children}):
            group = [child for child in self.children if child.stop_order == order]
            for child in group:
                child.ask_to_stop()
            deadline = time.monotonic() + timeout
            for child in group:
                child.wait_stopped(deadline)
