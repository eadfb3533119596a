#!/usr/bin/env python3
"""Split: deal the numbers 1..FANOUT_NUMBERS round-robin into one file per work node.

It also records the total the merge must reach (n(n+1)/2), so the run proves that every shard
was summed once and only once.
"""

from __future__ import annotations

import os

from shards import EXPECTED_FILE, SHARDS, run_folder, shard_path, write_atomically

DEFAULT_NUMBERS = 200_000


def main() -> None:
    raw = os.environ.get("FANOUT_NUMBERS") or str(DEFAULT_NUMBERS)
    if not raw.isdigit() or int(raw) < 1:
        raise SystemExit(f"FANOUT_NUMBERS must be a positive whole number, got {raw!r}")
    count = int(raw)
    folder = run_folder(create=True)
    for shard in range(1, SHARDS + 1):
        numbers = range(shard, count + 1, SHARDS)
        write_atomically(shard_path(folder, shard), "\n".join(map(str, numbers)) + "\n")
    write_atomically(folder / EXPECTED_FILE, f"{count * (count + 1) // 2}\n")
    print(f"split: {count} numbers dealt into {SHARDS} shards in {folder}")


if __name__ == "__main__":
    main()
