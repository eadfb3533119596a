#!/usr/bin/env python3
"""Extract: write the run's raw sales CSV, the same rows for the same seed on every machine.

A real pipeline would pull from a source system; a seeded generator gives the example real
files to work on and lets tests know exactly what to expect. About one row in a hundred is
deliberately broken, so the validate step has something to catch.
"""

from __future__ import annotations

import csv
import datetime as dt
import random

from run_folder import RAW_CSV, integer_param, run_folder
from sales import SALES_COLUMNS

DEFAULT_ROWS = 5000
DEFAULT_SEED = 20260101
CATEGORIES = ("books", "garden", "games", "kitchen", "music", "outdoor", "tools", "toys")
REGIONS = ("north", "south", "east", "west")
FIRST_DAY = dt.date(2026, 1, 1)
DAYS = 28
BROKEN_SHARE = 0.01
DEFECTS = ("empty quantity", "negative quantity", "bad price", "bad day")


def sales_row(rng: random.Random, order_id: int) -> list[str]:
    """One order; with a small probability, one of its fields is damaged on purpose."""
    day = FIRST_DAY + dt.timedelta(days=rng.randrange(DAYS))
    row = [
        str(order_id),
        day.isoformat(),
        rng.choice(CATEGORIES),
        rng.choice(REGIONS),
        str(rng.randint(1, 20)),
        f"{rng.randint(199, 9999) / 100:.2f}",
    ]
    if rng.random() < BROKEN_SHARE:
        defect = rng.choice(DEFECTS)
        if defect == "empty quantity":
            row[4] = ""
        elif defect == "negative quantity":
            row[4] = str(-rng.randint(1, 5))
        elif defect == "bad price":
            row[5] = "n/a"
        else:
            row[1] = "2026-02-30"
    return row


def main() -> None:
    rows = integer_param("ETL_ROWS", DEFAULT_ROWS)
    seed = integer_param("ETL_SEED", DEFAULT_SEED)
    if rows < 1:
        raise SystemExit(f"ETL_ROWS must be at least 1, got {rows}")
    rng = random.Random(seed)
    target = run_folder(create=True) / RAW_CSV
    with target.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(SALES_COLUMNS)
        for order_id in range(1, rows + 1):
            writer.writerow(sales_row(rng, order_id))
    print(f"extract: wrote {rows} rows (seed {seed}) to {target}")


if __name__ == "__main__":
    main()
