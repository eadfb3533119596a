#!/usr/bin/env python3
"""A branch after file1: counts the primes below a bound, a little honest CPU work."""

import os

LIMIT = 20_000


def primes_below(limit: int) -> int:
    """Sieve of Eratosthenes: enough work to see file2 and file3 overlap in the run's timeline."""
    sieve = bytearray([1]) * limit
    sieve[0:2] = b"\x00\x00"
    for number in range(2, int(limit**0.5) + 1):
        if sieve[number]:
            sieve[number * number :: number] = bytearray(len(range(number * number, limit, number)))
    return sum(sieve)


print(f"file2: attempt {os.environ.get('DAGYARD_ATTEMPT', '1')}")
print(f"file2: {primes_below(LIMIT)} primes below {LIMIT}")
