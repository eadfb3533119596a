"""A node's process dies with the worker that launched it, and its output and exit code reach
the worker as before."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from dags.process import run_process

REPO_ROOT = Path(__file__).resolve().parents[2]

LAUNCHER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from dags.process import run_process
    run_process(["/bin/sh", "-c", "echo $$ > " + sys.argv[1] + "; exec sleep 60"],
                cwd=Path("."), env={"PATH": "/usr/bin:/bin"})
    """
)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie waiting for init to reap it is gone for our purposes.
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and stat.read_text().split(") ")[1].startswith("Z"))


def wait_for(condition, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="parent-death signal is Linux")
def test_a_nodes_process_dies_when_its_worker_is_killed(tmp_path: Path) -> None:
    pid_file = tmp_path / "child.pid"
    worker = subprocess.Popen([sys.executable, "-c", LAUNCHER, str(pid_file)], cwd=REPO_ROOT)
    try:
        assert wait_for(lambda: pid_file.exists() and pid_file.read_text().strip())
        child = int(pid_file.read_text())
        assert alive(child)

        worker.send_signal(signal.SIGKILL)
        worker.wait()

        assert wait_for(lambda: not alive(child)), f"process {child} outlived its worker"
    finally:
        if worker.poll() is None:
            worker.kill()


def test_output_and_exit_code_come_back(tmp_path: Path) -> None:
    result = run_process(
        ["/bin/sh", "-c", 'echo "out $NAME"; echo err >&2; exit 3'],
        cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin", "NAME": "node"},
    )
    assert (result.exit_code, result.output, result.stopped) == (3, "out node\nerr\n", None)
