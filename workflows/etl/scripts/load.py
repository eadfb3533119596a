#!/usr/bin/env python3
"""Load: the clean rows and both aggregates into the run's SQLite file, in one transaction.

The tables are dropped and created again inside that transaction, so a retried attempt (this
node has retries, because a locked database file can pass on its own) never doubles a row, and
a failed attempt leaves the previous contents whole.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator

from run_folder import BY_CATEGORY_CSV, BY_DAY_CSV, CLEAN_CSV, DATABASE, run_folder
from sales import cents, clean_rows, read_totals

BUSY_TIMEOUT_SECONDS = 30.0
SCHEMA = """
DROP TABLE IF EXISTS sales;
DROP TABLE IF EXISTS category_totals;
DROP TABLE IF EXISTS daily_totals;
CREATE TABLE sales (
    order_id INTEGER PRIMARY KEY, day TEXT NOT NULL, category TEXT NOT NULL,
    region TEXT NOT NULL, quantity INTEGER NOT NULL, unit_price_cents INTEGER NOT NULL
);
CREATE TABLE category_totals (
    category TEXT PRIMARY KEY, orders INTEGER NOT NULL, units INTEGER NOT NULL,
    revenue_cents INTEGER NOT NULL
);
CREATE TABLE daily_totals (
    day TEXT PRIMARY KEY, orders INTEGER NOT NULL, units INTEGER NOT NULL,
    revenue_cents INTEGER NOT NULL
);
"""


def sales_values(rows: Iterator[dict[str, str]]) -> Iterator[tuple[int, str, str, str, int, int]]:
    for row in rows:
        yield (
            int(row["order_id"]),
            row["day"],
            row["category"],
            row["region"],
            int(row["quantity"]),
            cents(row["unit_price"]),
        )


def main() -> None:
    folder = run_folder()
    # isolation_level=None: this script opens the transaction itself, so the DROP and CREATE
    # statements belong to it too (the sqlite3 module would otherwise commit before them).
    connection = sqlite3.connect(
        folder / DATABASE, timeout=BUSY_TIMEOUT_SECONDS, isolation_level=None
    )
    try:
        connection.execute("BEGIN IMMEDIATE")
        for statement in SCHEMA.split(";"):
            if statement.strip():
                connection.execute(statement)
        connection.executemany(
            "INSERT INTO sales VALUES (?, ?, ?, ?, ?, ?)",
            sales_values(clean_rows(folder / CLEAN_CSV)),
        )
        connection.executemany(
            "INSERT INTO category_totals VALUES (?, ?, ?, ?)",
            read_totals(folder / BY_CATEGORY_CSV),
        )
        connection.executemany(
            "INSERT INTO daily_totals VALUES (?, ?, ?, ?)", read_totals(folder / BY_DAY_CSV)
        )
        connection.execute("COMMIT")
    except BaseException:
        if connection.in_transaction:
            connection.execute("ROLLBACK")
        raise
    finally:
        connection.close()
    print(f"load: tables sales, category_totals and daily_totals written to {folder / DATABASE}")


if __name__ == "__main__":
    main()
