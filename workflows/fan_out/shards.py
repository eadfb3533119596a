"""Where a fan-out run keeps its shards and partial sums, shared by split, work and merge.

Each run gets ``runs/<DAGYARD_RUN_ID>/`` beside the definition (``runs/local/`` outside
Dagyard), so runs of this DAG side by side never read each other's shards.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

SHARDS = 20
"""How many work nodes dag.yaml lists; split deals one file to each."""
DAG_FOLDER = Path(__file__).resolve().parent
RUNS_FOLDER = DAG_FOLDER / "runs"
LOCAL_RUN = "local"
RUN_ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,199}")
"""A run id becomes a folder name: anything else (``..``, ``/``) could escape ``runs/``."""
EXPECTED_FILE = "expected.txt"
RESULT_FILE = "result.txt"


def run_folder(*, create: bool = False) -> Path:
    """This run's folder, refusing a run id that is not a plain name."""
    run_id = os.environ.get("DAGYARD_RUN_ID") or LOCAL_RUN
    if not RUN_ID_PATTERN.fullmatch(run_id):
        raise SystemExit(f"DAGYARD_RUN_ID {run_id!r} is not a plain name; refusing to use it")
    folder = RUNS_FOLDER / run_id
    if create:
        folder.mkdir(parents=True, exist_ok=True)
    elif not folder.is_dir():
        raise SystemExit(f"{folder} does not exist: run the split step of this run first")
    return folder


def shard_path(folder: Path, shard: int) -> Path:
    return folder / "shards" / f"{shard:02d}.txt"


def partial_path(folder: Path, shard: int) -> Path:
    return folder / "partials" / f"{shard:02d}.txt"


def write_atomically(path: Path, text: str) -> None:
    """Write beside the target, then rename: a retried or killed node never leaves half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}")
    partial.write_text(text)
    partial.replace(path)
