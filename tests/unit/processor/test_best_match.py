"""How a record picks its link among the candidates (``Linker.best_match``, no database)."""

from __future__ import annotations

import pytest

from services.processor.dedup.keys import VehicleKey, description_words, evidence
from services.processor.dedup.linker import Linker
from services.processor.dedup.rarity import UNIFORM, Weights
from services.processor.dedup.scoring import LINK_THRESHOLD, score
from services.processor.dedup.store import Known
from tests.unit.processor.test_scoring import key as listing_key

DESCRIPTION = "numbers matching 454 frame off restoration black vinyl interior 4 speed"


def key(data_hash: str, **changes: object) -> VehicleKey:
    """Return a listing's key on its own page of site-a (changed where given)."""
    page = {
        "source_url": f"site-a.example.com/l/{data_hash}",
        "stock": "",
        "description": DESCRIPTION,
    }
    return listing_key(**{**page, **changes, "data_hash": data_hash})


def known(listing: VehicleKey, canonical: str | None = None) -> Known:
    """Return a known listing, its own canonical unless given, weighed uniformly."""
    own = UNIFORM.of_words(description_words(listing))
    return Known(listing, canonical or listing.data_hash, weights=own)


def best(record: VehicleKey, candidates: list[Known], threshold: float = LINK_THRESHOLD) -> Known:
    """Return the record linked among ``candidates`` (all found by its probes)."""
    linker = Linker(pool=None, threshold=threshold)
    return linker.best_match(record, evidence(record), [candidates], {})


def test_a_copy_a_model_year_off_links_two_years_off_does_not() -> None:
    """A site that writes 1971 for a 1970 car still lists the same car; 1972 is another one."""
    original = key("a" * 64)
    one_off = key("b" * 64, year=1971, image_url="img.site-b.example.com/p/1.jpg", source="b")
    two_off = one_off._replace(data_hash="c" * 64, year=1972)
    assert best(one_off, [known(original)]).canonical_hash == original.data_hash
    assert best(two_off, [known(original)]).canonical_hash == two_off.data_hash


def test_the_best_candidate_wins_whatever_the_order_ties_to_the_smallest_hash() -> None:
    """Of two candidates the one scoring higher gives the link, in either order; of two
    scoring alike, the one whose canonical hash sorts first."""
    record = key("r" * 64, source="site-c", image_url="img.site-c.example.com/p/1.jpg")
    close = key("b" * 64, source="site-b")  # the same photo path: rehosted, scores higher
    far = key("a" * 64, source="site-d", image_url="", price=52000.0)
    assert score(record, close)[0] > score(record, far)[0] >= LINK_THRESHOLD
    for order in ([known(close), known(far)], [known(far), known(close)]):
        linked = best(record, order)
        assert linked.canonical_hash == close.data_hash
        assert linked.match_score == score(record, close)[0]
        assert linked.match_fields == tuple(score(record, close)[1])
    twin = close._replace(data_hash="9" * 64)  # scores exactly as ``close``
    for order in ([known(close), known(twin)], [known(twin), known(close)]):
        assert best(record, order).canonical_hash == "9" * 64


def test_a_pair_scoring_exactly_the_threshold_links() -> None:
    """The threshold is the lowest score that links."""
    record = key("r" * 64, source="site-c", image_url="img.site-c.example.com/p/1.jpg")
    other = key("a" * 64, source="site-d", image_url="", price=52000.0)
    value = score(record, other)[0]
    assert best(record, [known(other)], threshold=value).canonical_hash == other.data_hash
    assert best(record, [known(other)], threshold=value + 0.01).canonical_hash == record.data_hash


@pytest.mark.parametrize("linked", [True, False])
def test_a_record_keeps_its_own_words_weights_linked_or_not(linked: bool) -> None:
    """Whoever meets the record later weighs its words as its chunk did, linked or not."""
    record = key("r" * 64, source="site-c", image_url="img.site-c.example.com/p/1.jpg")
    other = key("a" * 64) if linked else key("a" * 64, city="denver", state="co", image_url="")
    result = best(record, [known(other)])
    assert (result.canonical_hash != record.data_hash) is linked
    assert result.weights == UNIFORM.of_words(description_words(record))
    assert result.weights


def test_a_candidate_is_weighed_by_its_own_words_weights() -> None:
    """A known listing's words count as its own chunk weighed them: four heavy shared facts and
    a light word of its own make a copy of one that, its words weighed alike, would not be."""
    record = key(
        "r" * 64, source="site-c", image_url="", price=45000.0,
        description="numbers matching frame restoration sunroof",
    )  # fmt: skip
    other = key(
        "a" * 64, source="site-d", image_url="",
        description="numbers matching frame restoration xenon",
    )  # fmt: skip
    assert best(record, [known(other)]).canonical_hash == record.data_hash  # alike: no link
    heavy = Weights((word, 0.1 if word == "xenon" else 5.0) for word in description_words(other))
    candidate = Known(other, other.data_hash, weights=heavy)
    assert best(record, [candidate]).canonical_hash == other.data_hash
