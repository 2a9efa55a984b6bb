"""The in-file exact-duplicate set: a set's answers in a fraction of its memory."""

from __future__ import annotations

import hashlib
import random

from hypothesis import given
from hypothesis import strategies as st

from services.processor.seen import DigestSet


def _digest(value: int) -> bytes:
    return hashlib.sha256(str(value).encode()).digest()


@given(st.lists(st.integers(min_value=0, max_value=300), max_size=400))
def test_answers_like_a_set_across_merges(values: list[int]) -> None:
    """Whatever the order and repeats, add() is True exactly for the first sighting."""
    seen, reference = DigestSet(batch=7), set()
    for value in values:
        assert seen.add(_digest(value)) is (value not in reference)
        reference.add(value)
    assert len(seen) == len(reference)


def test_a_large_file_costs_about_sixteen_bytes_a_record() -> None:
    """200,000 digests merged into the sorted stores take 16 bytes each, and stay found."""
    seen = DigestSet(batch=50_000)
    values = list(range(200_000))
    random.Random(3).shuffle(values)
    assert all(seen.add(_digest(v)) for v in values)
    stored = sum(len(part.stored) for part in seen._parts)
    pending = sum(len(part.pending) for part in seen._parts)
    assert stored == (200_000 - pending) * 16
    assert pending < 50_000  # each part holds fewer than 50,000 / 256 before it is merged
    assert not any(seen.add(_digest(v)) for v in values[::997])
