"""Where a run of the ETL example keeps its files, shared by every step of the DAG.

Dagyard names the run in ``DAGYARD_RUN_ID``; each run gets ``runs/<run id>/`` beside the
definition so concurrent runs never collide. Outside Dagyard the folder is ``runs/local/``.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

DAG_FOLDER = Path(__file__).resolve().parent.parent
RUNS_FOLDER = DAG_FOLDER / "runs"
LOCAL_RUN = "local"
RUN_ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,199}")
"""A run id becomes a folder name: anything else (``..``, ``/``) could escape ``runs/``."""

RAW_CSV = "raw.csv"
CLEAN_CSV = "clean.csv"
REJECTS_CSV = "rejects.csv"
BY_CATEGORY_CSV = "by_category.csv"
BY_DAY_CSV = "by_day.csv"
DATABASE = "warehouse.sqlite"
REPORT = "report.txt"


def run_folder(*, create: bool = False) -> Path:
    """This run's folder, refusing a run id that is not a plain name."""
    run_id = os.environ.get("DAGYARD_RUN_ID") or LOCAL_RUN
    if not RUN_ID_PATTERN.fullmatch(run_id):
        raise SystemExit(f"DAGYARD_RUN_ID {run_id!r} is not a plain name; refusing to use it")
    folder = RUNS_FOLDER / run_id
    if create:
        folder.mkdir(parents=True, exist_ok=True)
    elif not folder.is_dir():
        raise SystemExit(f"{folder} does not exist: run the extract step of this run first")
    return folder


def integer_param(name: str, default: int) -> int:
    """A run parameter that must be a whole number, with a clear message when it is not."""
    raw = os.environ.get(name, "")
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError:
        raise SystemExit(f"{name} must be a whole number, got {raw!r}") from None
