#!/usr/bin/env python3
"""Work: sum one shard. Twenty copies run at once, each told its shard by the SHARD variable.

The shard comes through the node's ``env`` rather than an argument, so the node's command can
stay a plain ``work.py``, which Dagyard runs with its own resolved interpreter instead of
looking ``python3`` up on PATH for each of the twenty.
"""

from __future__ import annotations

import os

from shards import SHARDS, partial_path, run_folder, shard_path, write_atomically


def main() -> None:
    raw = os.environ.get("SHARD", "")
    if not raw.isdigit() or not 1 <= int(raw) <= SHARDS:
        raise SystemExit(f"SHARD must be a whole number from 1 to {SHARDS}, got {raw!r}")
    shard = int(raw)
    folder = run_folder()
    numbers = [int(line) for line in shard_path(folder, shard).read_text().split()]
    write_atomically(partial_path(folder, shard), f"{len(numbers)} {sum(numbers)}\n")
    print(f"work: shard {shard:02d} holds {len(numbers)} numbers summing to {sum(numbers)}")


if __name__ == "__main__":
    main()
