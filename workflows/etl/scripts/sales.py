"""What a sales row is and how the ETL example totals it, shared by the steps that need it.

Money is counted in whole cents, never floats, so the totals of the two aggregation branches and
of the loaded table agree to the cent and the report step can insist that they do.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

SALES_COLUMNS = ("order_id", "day", "category", "region", "quantity", "unit_price")
TOTAL_COLUMNS = ("orders", "units", "revenue_cents")
CENTS = Decimal(100)


def cents(price: str) -> int:
    """``"12.34"`` as ``1234``; validation has already refused prices finer than a cent."""
    return int(Decimal(price) * CENTS)


def clean_rows(path: Path) -> Iterator[dict[str, str]]:
    """The rows of a validated CSV, as the validate step wrote them."""
    with path.open(newline="") as handle:
        yield from csv.DictReader(handle)


def totals_by(path: Path, key: str) -> dict[str, tuple[int, int, int]]:
    """Orders, units and revenue in cents per value of ``key``, sorted by that value."""
    totals: dict[str, tuple[int, int, int]] = {}
    for row in clean_rows(path):
        quantity = int(row["quantity"])
        orders, units, revenue = totals.get(row[key], (0, 0, 0))
        totals[row[key]] = (
            orders + 1,
            units + quantity,
            revenue + quantity * cents(row["unit_price"]),
        )
    return dict(sorted(totals.items()))


def write_totals(path: Path, key: str, totals: dict[str, tuple[int, int, int]]) -> None:
    """One CSV line per key, with the columns of ``TOTAL_COLUMNS``."""
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow((key, *TOTAL_COLUMNS))
        for value, numbers in totals.items():
            writer.writerow((value, *numbers))


def read_totals(path: Path) -> list[tuple[str, int, int, int]]:
    """What ``write_totals`` wrote, with the numbers as integers again."""
    with path.open(newline="") as handle:
        reader = csv.reader(handle)
        next(reader)
        return [
            (value, int(orders), int(units), int(revenue))
            for value, orders, units, revenue in reader
        ]
