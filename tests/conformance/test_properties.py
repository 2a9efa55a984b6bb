"""For any listing the seed's schema and rules accept, the product accepts it too (hypothesis).

Listings are drawn from the seed's own domain: every field present or not, text of any
characters within the seed's lengths (NUL included), the seed's enum values, prices in its
string form within its business rule, years 1920 to the current year + 2. Each goes through the
processor's reading and the model: it must be accepted, keep the seed's classification as
spelled, keep its year and price, and give a row PostgreSQL can store (no NUL anywhere).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.provisional import urls

from services.processor.stages import check
from services.processor.stages.normalize import Normalizer
from services.processor.stages.write import dumps_line
from shared.events import RecordType
from shared.records import Vehicle

from .cases import NEXT_YEARS
from .seed import CATEGORIES, CONDITIONS, REGIONS, seed_verdict

_TEXT = st.characters(blacklist_categories=("Cs",))
_WORDS = st.characters(blacklist_categories=("Cs", "Z", "Cc"))  # no space or control at all


def _text(min_size: int, max_size: int) -> st.SearchStrategy[str]:
    return st.text(_TEXT, min_size=min_size, max_size=max_size)


_PRICES = st.integers(1000, 10_000_000).flatmap(
    lambda dollars: st.sampled_from(
        [str(dollars)]
        + ([f"{dollars}.{cents:02d}" for cents in (0, 1, 50, 99)] if dollars < 10_000_000 else [])
        + (["10000000.00"] if dollars == 10_000_000 else [])
    )
)
_URLS = urls()

FIELDS: dict[str, st.SearchStrategy[Any]] = {
    "price": _PRICES,
    "description": _text(0, 400),
    "imageUrl": _URLS,
    "locationCity": _text(0, 100),
    "locationState": st.text(_WORDS, min_size=2, max_size=2),
    "locationRegion": st.sampled_from(REGIONS),
    "category": st.sampled_from(CATEGORIES),
    "condition": st.sampled_from(CONDITIONS),
    "stockNumber": _text(0, 100),
}


@st.composite
def seed_listings(draw: st.DrawFn) -> dict[str, Any]:
    """Draw a listing the seed accepts: the required fields, and any of the optional ones."""
    listing: dict[str, Any] = {
        "make": draw(_text(1, 100)),
        "model": draw(_text(1, 100)),
        "year": draw(st.integers(1920, NEXT_YEARS)),
        "sourceName": draw(_text(0, 100)),
        "sourceUrl": draw(_URLS),
    }
    for name in draw(st.sets(st.sampled_from(sorted(FIELDS)))):
        listing[name] = draw(FIELDS[name])
    return listing


@settings(max_examples=400, deadline=None)
@given(seed_listings())
def test_whatever_the_seed_accepts_the_product_accepts_and_keeps(listing: dict[str, Any]) -> None:
    """Accepted, classification as spelled, same year and price, a row PostgreSQL can hold."""
    assert seed_verdict(listing)[0], listing
    mapped = Normalizer("drop", "property", RecordType.VEHICLES)(listing)
    outcome = check.validate(mapped.record, Vehicle)
    errors = check.with_source_errors(mapped.errors, outcome)
    assert not errors, errors
    assert isinstance(outcome, Vehicle)
    row = outcome.to_row()
    for key, column in (
        ("category", "category"),
        ("condition", "condition"),
        ("locationRegion", "location_region"),
    ):
        assert row[column] == listing.get(key)
    assert row["year"] == listing["year"]
    if "price" in listing:
        assert Decimal(str(row["price"])) == Decimal(listing["price"])
    assert b"\\u0000" not in dumps_line({**row, "repairs": list(mapped.repairs)})
    assert orjson.loads(dumps_line(row))["data_hash"] == row["data_hash"]
