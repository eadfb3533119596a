"""Run one node's process: its own process group, bounded output, timeout and cancel.

The process leads a new session, so a timeout or a cancel kills its whole tree (a shell script's
children included) with one signal to the group. Output is read by two threads into bounded
buffers that keep the head and the tail, so a chatty script can neither fill a pipe and hang nor
fill the worker's memory. If the worker dies, the kernel sends the process SIGTERM (Linux).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import select
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

PR_SET_PDEATHSIG = 1
KILL_GRACE_SECONDS = 3.0
DEFAULT_OUTPUT_LIMIT = 64 * 1024
TRUNCATION_MARK = "\n[... output truncated: {skipped} bytes skipped ...]\n"


class StopReason:
    TIMEOUT = "timeout"
    CANCELLED = "cancelled"


@dataclass(frozen=True, slots=True)
class ProcessResult:
    exit_code: int | None
    output: str
    truncated: bool
    stopped: str | None  # StopReason.TIMEOUT / CANCELLED when Dagyard killed it
    seconds: float


class BoundedBuffer:
    """Keeps the first and the last `limit / 2` bytes of a stream."""

    def __init__(self, limit: int) -> None:
        self.half = max(limit // 2, 1)
        self.head = bytearray()
        self.tail = bytearray()
        self.skipped = 0

    def feed(self, chunk: bytes) -> None:
        room = self.half - len(self.head)
        if room > 0:
            self.head += chunk[:room]
            chunk = chunk[room:]
        if not chunk:
            return
        self.tail += chunk
        overflow = len(self.tail) - self.half
        if overflow > 0:
            del self.tail[:overflow]
            self.skipped += overflow

    def text(self) -> str:
        head = self.head.decode(errors="replace")
        tail = self.tail.decode(errors="replace")
        if self.skipped:
            return head + TRUNCATION_MARK.format(skipped=self.skipped) + tail
        return head + tail


def _pump(stream, buffer: BoundedBuffer, lock: threading.Lock) -> None:
    for chunk in iter(lambda: stream.read1(8192), b""):
        with lock:
            buffer.feed(chunk)
    stream.close()


ON_LINUX = sys.platform.startswith("linux")
# util-linux's `setpriv` sets the parent-death signal and execs the command. Python can then
# spawn it with vfork instead of a full fork of the (large) worker: ~1.5 ms a launch, against
# ~9 ms with a `preexec_fn`, which forces a fork.
SETPRIV = shutil.which("setpriv") if ON_LINUX else None
_prctl = ctypes.CDLL(None, use_errno=True).prctl if ON_LINUX and SETPRIV is None else None


def _child_setup() -> None:
    if _prctl is not None:
        _prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def spawn_options(argv: list[str]) -> tuple[list[str], Callable[[], None] | None]:
    """The command line and pre-exec hook that make the process die with its worker (Linux)."""
    if SETPRIV is not None:
        return [SETPRIV, "--pdeathsig", "TERM", "--", *argv], None
    return argv, _child_setup if _prctl is not None else None


def kill_group(pgid: int, grace: float = KILL_GRACE_SECONDS, wait: Callable | None = None) -> None:
    """SIGTERM the group, then SIGKILL what is left after `grace` seconds."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGTERM)
    if wait is not None:
        with contextlib.suppress(subprocess.TimeoutExpired):
            wait(grace)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)


class ExitWatch:
    """Wakes the moment the process exits. `Popen.wait(timeout)` sleeps in growing steps of up
    to 50 ms between checks, which a short node pays on every run; a pidfd (Linux 5.3+) is
    readable exactly when the process ends. Elsewhere, fall back to `Popen.wait`."""

    def __init__(self, process: subprocess.Popen) -> None:
        self.process = process
        self.poller: select.poll | None = None
        self.fd: int | None = None
        if hasattr(os, "pidfd_open"):
            try:
                self.fd = os.pidfd_open(process.pid)
            except OSError:
                self.fd = None
            else:
                self.poller = select.poll()
                self.poller.register(self.fd, select.POLLIN)

    def wait(self, seconds: float) -> bool:
        """True once the process has exited (and been reaped)."""
        if self.poller is not None:
            self.poller.poll(max(0, int(seconds * 1000)))
            return self.process.poll() is not None
        try:
            self.process.wait(seconds)
        except subprocess.TimeoutExpired:
            return False
        return True

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


def run_process(
    argv: list[str],
    *,
    cwd: Path,
    env: dict[str, str],
    timeout: float | None = None,
    should_stop: Callable[[int], bool] | None = None,
    check_every: float = 1.0,
    output_limit: int = DEFAULT_OUTPUT_LIMIT,
) -> ProcessResult:
    """Run to completion, a timeout, or until `should_stop(pid)` says so (checked every
    `check_every` seconds; the process's own exit is noticed at once)."""
    started = time.monotonic()
    command, pre_exec = spawn_options(argv)
    process = subprocess.Popen(
        command,
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        preexec_fn=pre_exec,  # noqa: PLW1509 - only prctl, safe after fork
    )
    buffer, lock = BoundedBuffer(output_limit), threading.Lock()
    reader = threading.Thread(target=_pump, args=(process.stdout, buffer, lock), daemon=True)
    reader.start()
    stopped: str | None = None
    deadline = None if timeout is None else started + timeout
    exited = ExitWatch(process)
    while True:
        wait_for = check_every
        if deadline is not None:
            wait_for = max(0.0, min(wait_for, deadline - time.monotonic()))
        if exited.wait(wait_for):
            break
        if deadline is not None and time.monotonic() >= deadline:
            stopped = StopReason.TIMEOUT
        elif should_stop is not None and should_stop(process.pid):
            stopped = StopReason.CANCELLED
        if stopped:
            kill_group(process.pid, wait=process.wait)
            process.wait()
            break
    exited.close()
    # A grandchild that kept the pipe open must not keep the node alive after its leader exits.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    reader.join(timeout=5)
    with lock:
        output, truncated = buffer.text(), bool(buffer.skipped)
    return ProcessResult(
        exit_code=process.returncode,
        output=output,
        truncated=truncated,
        stopped=stopped,
        seconds=time.monotonic() - started,
    )
