#!/usr/bin/env python3
"""Validate: split the raw CSV into clean rows and rejected rows, each reject with its reason.

Downstream steps read only ``clean.csv`` and can trust every field. Too many rejects means the
source is broken rather than noisy, and then the run should stop here, before anything loads.
"""

from __future__ import annotations

import csv
import datetime as dt
import os
from decimal import Decimal, InvalidOperation

from run_folder import CLEAN_CSV, RAW_CSV, REJECTS_CSV, run_folder
from sales import SALES_COLUMNS

DEFAULT_MAX_REJECT_SHARE = 0.05


def problem(row: dict[str, str]) -> str | None:
    """Why this row cannot be used, or ``None`` when every field is sound."""
    try:
        dt.date.fromisoformat(row["day"])
    except ValueError:
        return f"day {row['day']!r} is not a date"
    if not row["category"] or not row["region"]:
        return "category or region is empty"
    try:
        quantity = int(row["quantity"])
    except ValueError:
        return f"quantity {row['quantity']!r} is not a whole number"
    if quantity <= 0:
        return f"quantity {quantity} is not positive"
    try:
        price = Decimal(row["unit_price"])
    except InvalidOperation:
        return f"unit price {row['unit_price']!r} is not a number"
    if price <= 0 or price.as_tuple().exponent < -2:
        return f"unit price {row['unit_price']!r} is not a positive amount in cents"
    return None


def main() -> None:
    folder = run_folder()
    max_share = float(os.environ.get("ETL_MAX_REJECT_SHARE", DEFAULT_MAX_REJECT_SHARE))
    total = rejected = 0
    with (
        (folder / RAW_CSV).open(newline="") as source,
        (folder / CLEAN_CSV).open("w", newline="") as clean_file,
        (folder / REJECTS_CSV).open("w", newline="") as rejects_file,
    ):
        reader = csv.DictReader(source)
        if tuple(reader.fieldnames or ()) != SALES_COLUMNS:
            raise SystemExit(f"validate: unexpected columns {reader.fieldnames}")
        clean = csv.DictWriter(clean_file, fieldnames=SALES_COLUMNS)
        rejects = csv.DictWriter(rejects_file, fieldnames=(*SALES_COLUMNS, "reason"))
        clean.writeheader()
        rejects.writeheader()
        for row in reader:
            total += 1
            reason = problem(row)
            if reason is None:
                clean.writerow(row)
            else:
                rejected += 1
                rejects.writerow({**row, "reason": reason})
    print(f"validate: {total - rejected} clean rows, {rejected} rejected of {total}")
    if total == 0 or rejected / total > max_share:
        raise SystemExit(f"validate: rejected share above {max_share:.1%}; stopping the run")


if __name__ == "__main__":
    main()
