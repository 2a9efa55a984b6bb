"""The listing generator and the dedup quality report on the in-memory index.

The in-memory index links as the processor's PostgreSQL store does (checked on the same rows in
``tests/integration/test_dedup_quality.py``, where the quoted figures are measured).
"""

from __future__ import annotations

import random

import pytest

from services.processor.quality.generator import ListingGenerator, typo
from services.processor.quality.report import _pairs, _row, cluster, measure
from services.processor.stages.normalize import Normalizer
from shared.events import RecordType


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


def test_small_files_link_as_precisely_whatever_the_order() -> None:
    """Listings dropped ten at a time, each file weighed on its own: the links stay precise.

    A chunk of ten weighs its words about alike, so two cars filled into one dealer template
    share most of their weight; their figures (a mileage) contradict, and that is no evidence
    of one car. The weights are the file's own, so linking the files in reverse order (as a
    replica meeting them last would) finds the same pairs.
    """
    quality = measure(4000, 7, chunk_size=10)
    assert quality.true_pairs > 500
    assert quality.precision >= 0.99
    assert quality.recall >= 0.98


def test_small_files_linked_in_either_order_give_the_same_pairs() -> None:
    """Files of ten linked first to last and last to first: the same linked pairs.

    Each file's words are weighed on the file alone, never on what the index holds when it
    arrives, so a replica meeting a file early or late weighs and links it alike.
    """
    normalizer = Normalizer("drop", "generator", RecordType.VEHICLES)
    rows = [
        row
        for listing in ListingGenerator(7, photos="reworded").listings(3000)
        if (row := _row(listing, normalizer)) is not None
    ]
    files = [rows[start : start + 10] for start in range(0, len(rows), 10)]
    forward = cluster([row for file in files for row in file], chunk_size=10)
    backward = cluster([row for file in reversed(files) for row in file], chunk_size=10)
    assert len(_pairs(_groups(forward))) > 500
    assert _pairs(_groups(forward)) == _pairs(_groups(backward))


def _groups(canonical: dict[str, str]) -> dict[str, set[str]]:
    groups: dict[str, set[str]] = {}
    for data_hash, canon in canonical.items():
        groups.setdefault(canon, set()).add(data_hash)
    return groups
