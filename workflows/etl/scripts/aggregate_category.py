#!/usr/bin/env python3
"""Transform: orders, units and revenue per category, from the validated rows.

Runs beside the other aggregation branch: both wait only for validate, so Dagyard starts them
together, and load waits for both.
"""

from __future__ import annotations

from run_folder import BY_CATEGORY_CSV, CLEAN_CSV, run_folder
from sales import totals_by, write_totals

KEY = "category"


def main() -> None:
    folder = run_folder()
    totals = totals_by(folder / CLEAN_CSV, KEY)
    write_totals(folder / BY_CATEGORY_CSV, KEY, totals)
    revenue = sum(numbers[2] for numbers in totals.values())
    print(f"aggregate: {len(totals)} {KEY} rows, revenue {revenue / 100:,.2f}")


if __name__ == "__main__":
    main()
