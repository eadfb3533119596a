#!/usr/bin/env python3
"""The other branch after file1: runs beside file2, since both wait only for file1."""

import hashlib
import os

ROUNDS = 50_000

digest = b"dagyard"
for _ in range(ROUNDS):
    digest = hashlib.sha256(digest).digest()
print(f"file3: node {os.environ.get('DAGYARD_NODE', 'file3.py')}")
print(f"file3: sha256 chained {ROUNDS} times ends in {digest.hex()[:16]}")
