"""The record hashes a file has already produced, in about 16 bytes each.

A Python set of digests costs ~100 bytes per record: 250 MB for the 2.5 million records of a
1 GB file. Here the digests are split by their first byte into 256 parts; in each, recent digests
sit in a small set and are merged, every ``batch`` additions, into one sorted ``bytearray`` of
fixed-width prefixes searched by bisection. A merge rebuilds one part only, so the memory it needs
beside the store is 1/256 of it (one sorted store for the whole file doubled at each merge: +27 MB
at the end of a 1 GB file), and a search bisects a part 256 times smaller. Prefixes are 16 bytes
of a SHA-256: two different records share one with a probability of about n^2 / 2^129, nil in
practice.
"""

from __future__ import annotations

PREFIX = 16
BATCH = 100_000  # additions held in sets, over all parts, before a part is merged
PARTS = 256


class _Part:
    """The digests starting with one byte: a pending set and a sorted store."""

    __slots__ = ("count", "pending", "stored")

    def __init__(self) -> None:
        self.pending: set[bytes] = set()
        self.stored = bytearray()  # concatenated sorted prefixes
        self.count = 0

    def has(self, prefix: bytes) -> bool:
        if prefix in self.pending:
            return True
        data, low, high = self.stored, 0, self.count
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

    def flush(self) -> None:
        data = self.stored
        pieces: list[bytes | bytearray] = [
            data[i : i + PREFIX] for i in range(0, len(data), PREFIX)
        ]
        pieces.extend(self.pending)
        pieces.sort()
        self.stored = bytearray().join(pieces)
        self.count += len(self.pending)
        self.pending = set()


class DigestSet:
    """A set of SHA-256 digests (their 16-byte prefixes) with compact storage."""

    def __init__(self, batch: int = BATCH) -> None:
        """Merge a part's pending set into its store once it holds ``batch`` / 256 digests."""
        self.part_batch = max(1, batch // PARTS)
        self._parts = [_Part() for _ in range(PARTS)]
        self._count = 0

    def __len__(self) -> int:
        """Return how many digests were added."""
        return self._count

    def add(self, digest: bytes) -> bool:
        """Add ``digest``; return False if it was already there."""
        prefix = digest[:PREFIX]
        part = self._parts[prefix[0]]
        if part.has(prefix):
            return False
        part.pending.add(prefix)
        self._count += 1
        if len(part.pending) >= self.part_batch:
            part.flush()
        return True
