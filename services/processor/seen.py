"""The record hashes a file has already produced, in about 16 bytes each.

A Python set of digests costs ~100 bytes per record: 250 MB for the 2.5 million records of a
1 GB file. Here recent digests sit in a small set and are merged, every ``batch`` additions, into
one sorted ``bytes`` of fixed-width prefixes searched by bisection. Prefixes are 16 bytes of a
SHA-256: two different records share one with a probability of about n^2 / 2^129, nil in practice.
"""

from __future__ import annotations

from heapq import merge

PREFIX = 16
BATCH = 100_000


class DigestSet:
    """A set of SHA-256 digests (their 16-byte prefixes) with compact storage."""

    def __init__(self, batch: int = BATCH) -> None:
        """Merge the pending set into the sorted store every ``batch`` additions."""
        self.batch = batch
        self._pending: set[bytes] = set()
        self._sorted = bytearray()  # concatenated sorted prefixes
        self._count = 0

    def __len__(self) -> int:
        """Return how many digests were added."""
        return self._count + len(self._pending)

    def add(self, digest: bytes) -> bool:
        """Add ``digest``; return False if it was already there."""
        prefix = digest[:PREFIX]
        if prefix in self._pending or self._stored(prefix):
            return False
        self._pending.add(prefix)
        if len(self._pending) >= self.batch:
            self._flush()
        return True

    def _stored(self, prefix: bytes) -> bool:
        data, low, high = self._sorted, 0, self._count
        while low < high:
            middle = (low + high) // 2
            found = data[middle * PREFIX : (middle + 1) * PREFIX]
            if found == prefix:
                return True
            if found < prefix:
                low = middle + 1
            else:
                high = middle
        return False

    def _flush(self) -> None:
        data = memoryview(self._sorted)
        stored = (bytes(data[i : i + PREFIX]) for i in range(0, len(data), PREFIX))
        merged = bytearray()  # grown piece by piece: no list of millions of pieces on the way
        for prefix in merge(stored, sorted(self._pending)):
            merged += prefix
        data.release()
        self._sorted = merged
        self._count += len(self._pending)
        self._pending = set()
