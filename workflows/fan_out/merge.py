#!/usr/bin/env python3
"""Merge: add the twenty partial sums and check the total against the one split promised."""

from __future__ import annotations

from shards import EXPECTED_FILE, RESULT_FILE, SHARDS, partial_path, run_folder, write_atomically


def main() -> None:
    folder = run_folder()
    missing = [shard for shard in range(1, SHARDS + 1) if not partial_path(folder, shard).is_file()]
    if missing:
        raise SystemExit(f"merge: no partial sum for shards {missing}")
    count = total = 0
    for shard in range(1, SHARDS + 1):
        numbers, partial = map(int, partial_path(folder, shard).read_text().split())
        count += numbers
        total += partial
    expected = int((folder / EXPECTED_FILE).read_text())
    if total != expected:
        raise SystemExit(f"merge: shards sum to {total}, split expected {expected}")
    write_atomically(folder / RESULT_FILE, f"{count} {total}\n")
    print(f"merge: {SHARDS} shards, {count} numbers, total {total} as expected")


if __name__ == "__main__":
    main()
