"""URL repairs: a missing scheme and a relative path are repaired; a broken image is a flag."""

from __future__ import annotations

from typing import Any

import pytest

from services.processor.stages import check
from services.processor.stages.enrich import Enricher
from services.processor.stages.normalize import Normalizer
from shared.events import RecordType
from shared.records import MODELS, Article, CarEvent, Record, Vehicle, record_hash

LISTING = {
    "make": "Ford",
    "model": "Mustang",
    "year": 1967,
    "price": 30000,
    "sourceName": "dealer-a",
    "sourceUrl": "https://dealer-a.example.com/listing/7",
}


def _process(
    changes: dict[str, Any], record_type: RecordType = RecordType.VEHICLES
) -> tuple[Record | list[dict[str, Any]], list[dict[str, Any]]]:
    base = LISTING if record_type is RecordType.VEHICLES else {}
    mapped = Normalizer("drop", "drop", record_type)({**base, **changes})
    return check.validate(mapped.record, MODELS[record_type]), list(mapped.repairs)


@pytest.mark.parametrize(
    ("given", "expected", "rule"),
    [
        ("//cdn.example.com/p/1.jpg", "https://cdn.example.com/p/1.jpg", "url_scheme"),
        ("cdn.example.com/p/1.jpg", "https://cdn.example.com/p/1.jpg", "url_scheme"),
        ("www.example.com/p/1.jpg", "https://www.example.com/p/1.jpg", "url_scheme"),
        ("/photos/7.jpg", "https://dealer-a.example.com/photos/7.jpg", "url_relative"),
    ],
)
def test_an_image_url_without_scheme_or_host_is_completed(
    given: str, expected: str, rule: str
) -> None:
    """What the page meant is unambiguous: the URL is completed, and the repair recorded."""
    record, repairs = _process({"imageUrl": given})
    assert isinstance(record, Vehicle), record
    assert str(record.image_url) == expected
    assert {"field": "imageUrl", "from": given, "to": expected, "rule": rule} in repairs


@pytest.mark.parametrize(
    ("given", "problem"),
    [
        ("not a url", "url_parsing"),
        ("photo.jpg", "url_parsing"),  # a file name is not taken for a host
        ("https://", "url_parsing"),
        ("https://img.example.com/" + "x" * 65_536, "url_too_long"),
    ],
)
def test_a_broken_image_url_is_a_quality_flag_not_a_failure(given: str, problem: str) -> None:
    """The listing is valid without its image; the enrichment says which URL and why."""
    record, repairs = _process({"imageUrl": given})
    assert isinstance(record, Vehicle), record
    assert record.image_url is None
    assert {"field": "imageUrl", "from": given, "to": None, "rule": "image_url_invalid"} in repairs
    image = Enricher(gazetteer=None).enrich(record, repairs)["enrichment"]["image"]
    assert image == {
        "url": given,
        "flags": ["invalid_url"],
        "problem": problem,
        "checked": False,
        "rule": "url_form",
    }


def test_a_relative_image_without_a_page_to_resolve_it_is_dropped() -> None:
    """Without an http(s) source URL, ``/photos/7.jpg`` has no host: dropped and flagged."""
    record, repairs = _process({"imageUrl": "/photos/7.jpg", "sourceUrl": None})
    assert isinstance(record, Vehicle), record
    assert record.image_url is None
    assert repairs[-1]["rule"] == "image_url_invalid"


def test_a_valid_image_url_is_not_touched() -> None:
    """The common case: no repair at all."""
    record, repairs = _process({"imageUrl": "https://img.example.com/p/1.jpg"})
    assert isinstance(record, Vehicle), record
    assert repairs == []


def test_a_listing_url_is_completed_but_a_broken_one_still_fails() -> None:
    """``www.`` without a scheme is repaired; a listing URL that is no URL is the record's error."""
    record, repairs = _process({"sourceUrl": "www.dealer-a.example.com/listing/7"})
    assert isinstance(record, Vehicle), record
    assert str(record.source_url) == "https://www.dealer-a.example.com/listing/7"
    assert repairs == [
        {
            "field": "sourceUrl",
            "from": "www.dealer-a.example.com/listing/7",
            "to": "https://www.dealer-a.example.com/listing/7",
            "rule": "url_scheme",
        }
    ]
    failed, _ = _process({"sourceUrl": "see our website"})
    assert isinstance(failed, list)
    assert [(e["field"], e["rule"]) for e in failed] == [("sourceUrl", "url_parsing")]


def test_an_article_url_with_a_scheme_keeps_its_natural_key() -> None:
    """An article's URL is its key: only a missing scheme is repaired, never its case or query."""
    url = "https://News.example.com/story?id=3&utm_source=feed"
    raw = {"title": "Pebble Beach", "url": url, "sourceName": "feed"}
    record, repairs = _process(raw, RecordType.ARTICLES)
    assert isinstance(record, Article)
    assert repairs == []
    assert record.data_hash() == record_hash(str(record.url), "feed")
    assert "utm_source=feed" in str(record.url)


def test_an_event_image_path_is_resolved_against_the_event_page() -> None:
    """An event's or article's own URL is the page its image path belongs to."""
    event = {
        "name": "Amelia Concours",
        "eventType": "concours",
        "startDate": "2026-03-05",
        "city": "Fernandina Beach",
        "url": "https://show.example.com/2026/",
        "imageUrl": "/img/poster.jpg",
        "sourceName": "feed",
    }
    record, repairs = _process(event, RecordType.EVENTS)
    assert isinstance(record, CarEvent), record
    assert str(record.image_url) == "https://show.example.com/img/poster.jpg"
    assert [r["rule"] for r in repairs] == ["url_relative"]
