#!/usr/bin/env python3
"""Report: read the loaded tables back, insist that every total agrees, write report.txt.

Revenue summed from the raw sales, per category and per day must be the same number of cents;
if they differ, something upstream is wrong and the run fails here instead of reporting it.
"""

from __future__ import annotations

import sqlite3

from run_folder import DATABASE, REPORT, run_folder

TOP = 3
TOTALS_QUERY = """
SELECT
    (SELECT COUNT(*) FROM sales), (SELECT SUM(quantity * unit_price_cents) FROM sales),
    (SELECT SUM(orders) FROM category_totals), (SELECT SUM(revenue_cents) FROM category_totals),
    (SELECT SUM(orders) FROM daily_totals), (SELECT SUM(revenue_cents) FROM daily_totals)
"""


def main() -> None:
    folder = run_folder()
    connection = sqlite3.connect(folder / DATABASE)
    try:
        counts = connection.execute(TOTALS_QUERY).fetchone()
        top = connection.execute(
            "SELECT category, revenue_cents FROM category_totals"
            " ORDER BY revenue_cents DESC, category LIMIT ?",
            (TOP,),
        ).fetchall()
        days = connection.execute("SELECT COUNT(*) FROM daily_totals").fetchone()[0]
    finally:
        connection.close()
    orders, revenue, category_orders, category_revenue, day_orders, day_revenue = counts
    if (
        not orders == category_orders == day_orders
        or not revenue == category_revenue == day_revenue
    ):
        raise SystemExit(f"report: totals disagree: {counts}")
    lines = [
        f"orders: {orders}",
        f"revenue: {revenue / 100:,.2f}",
        f"days: {days}",
        *(f"top {rank}: {name} {cents / 100:,.2f}" for rank, (name, cents) in enumerate(top, 1)),
    ]
    (folder / REPORT).write_text("\n".join(lines) + "\n")
    for line in lines:
        print(f"report: {line}")


if __name__ == "__main__":
    main()
