"""The listing generator and the dedup quality report on the in-memory index.

The in-memory index links as the processor's PostgreSQL store does (checked on the same rows in
``tests/integration/test_dedup_quality.py``, where the quoted figures are measured).
"""

from __future__ import annotations

import random

import pytest

from services.processor.dedup.rarity import WEAK_EVIDENCE, Rarity, among_neighbours
from services.processor.quality.generator import ListingGenerator, typo
from services.processor.quality.report import measure


def test_generator_is_deterministic_and_has_every_kind() -> None:
    """The same seed gives the same listings, with every kind of the default mix."""
    first = ListingGenerator(5).listings(400)
    second = ListingGenerator(5).listings(400)
    assert [listing.record for listing in first] == [listing.record for listing in second]
    kinds = {listing.kind for listing in first}
    assert kinds == {"original", "exact", "cross_site", "repost", "invalid", "lookalike"}


def test_typo_changes_a_word_a_little() -> None:
    """A typo swaps or drops one letter."""
    changed = typo("Chevelle", random.Random(1))
    assert changed != "Chevelle"
    assert abs(len(changed) - len("Chevelle")) <= 1


def test_quality_meets_the_target_on_a_small_mix() -> None:
    """Precision >= 0.97 and recall >= 0.95 on 800 generated listings (two seeds)."""
    for seed in (1, 2):
        quality = measure(800, seed)
        assert quality.true_pairs > 50
        assert quality.precision >= 0.97
        assert quality.recall >= 0.95


def test_rehosted_copies_have_their_own_photo_and_templates_are_shared() -> None:
    """In the rehosted mode no copy on another site keeps a photo URL of its original."""
    listings = ListingGenerator(5, photos="rehosted").listings(2000)
    originals = {x.entity: x.record for x in listings if x.kind == "original"}
    copies = [x for x in listings if x.kind == "cross_site" and x.entity in originals]
    with_photo = [x for x in copies if "imageUrl" in x.record]
    assert len(with_photo) > 100
    for copy in with_photo:
        original = originals[copy.entity]["imageUrl"]
        assert copy.record["imageUrl"].split("/", 3)[2:] != original.split("/", 3)[2:]
    templated = [
        x for x in listings if x.record.get("description", "").endswith("numbers matching.")
    ]
    assert len(templated) > 100


def test_quality_meets_the_target_with_rehosted_photos() -> None:
    """Precision >= 0.97 and recall >= 0.95 when each site hosts its own photos."""
    quality = measure(3000, 1, photos="rehosted")
    assert quality.true_pairs > 500
    assert quality.precision >= 0.97
    assert quality.recall >= 0.95


def test_an_unknown_photo_mode_is_refused() -> None:
    """A typo in the mode is a clear error, not a silent default."""
    with pytest.raises(ValueError, match="photos must be one of"):
        ListingGenerator(1, photos="mirrored")


def test_among_neighbours_leaves_a_large_chunk_alone() -> None:
    """A chunk of WEAK_EVIDENCE listings or more keeps its own weights; a small one does not."""
    template = frozenset({"clean", "title", "call", "today"})
    facts = [frozenset({f"{n}k"}) | template for n in range(5)]
    neighbours = [frozenset({f"{n}k"}) | template for n in range(100, 190)]
    small = Rarity.of(facts)
    weighed = among_neighbours(small, facts, neighbours)
    assert weighed.weight("clean") < 1.0 < weighed.weight("3k")  # template vs a fact
    assert small.weight("clean") > weighed.weight("clean")
    large = Rarity.of(facts * (WEAK_EVIDENCE // len(facts)))
    assert among_neighbours(large, facts, neighbours) is large
    assert among_neighbours(small, facts, []) is small
