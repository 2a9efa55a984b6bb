"""Per-source mappers: each source's raw shape becomes a valid canonical record, or reports why."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest

from services.processor.sources import tool_of
from services.processor.sources.apify import load_field_maps
from services.processor.stages import check
from services.processor.stages.normalize import Normalizer
from shared.events import RecordType
from shared.records import MODELS, Record

V, E, A = RecordType.VEHICLES, RecordType.EVENTS, RecordType.ARTICLES


def _valid(tool: str, item: Any, record_type: RecordType, **kwargs: Any) -> Record:
    mapped = Normalizer(tool, tool, record_type, **kwargs)(item)
    assert mapped.errors == []
    outcome = check.validate(mapped.record, MODELS[record_type])
    assert not isinstance(outcome, list), outcome
    return outcome


@pytest.mark.parametrize(
    ("name", "tool"),
    [
        ("apify_003.json", "apify"),
        ("drop_001.json", "drop"),
        ("perplexity_012.json", "perplexity"),
        ("Brave_001.jsonl", "brave"),
        ("mystery_001.json", "drop"),
        ("nonumber.json", "drop"),
    ],
)
def test_tool_is_the_file_name_prefix(name: str, tool: str) -> None:
    """The tool is the name before ``_NNN``; an unknown tool maps like a dropped file."""
    assert tool_of(name) == tool


def test_apify_default_map_reads_a_bat_style_item() -> None:
    """A Bring-a-Trailer-style item maps via the default map, with price and location repaired."""
    item = {
        "title": "No Reserve: 1967 Ford Mustang Fastback 4-Speed",
        "currentBid": "Bid to $61,000",
        "url": "https://bringatrailer.com/listing/1967-ford-mustang-42/",
        "location": "Austin, Texas 78701",
        "imageUrl": "https://cdn.example.com/m.jpg?utm_source=x",
        "lotNumber": "42",
    }
    vehicle = _valid("apify", item, V)
    assert (vehicle.year, vehicle.make, vehicle.model) == (1967, "Ford", "Mustang Fastback 4-Speed")
    assert str(vehicle.price) == "61000.00"
    assert (vehicle.location_city, vehicle.location_state) == ("Austin", "TX")
    assert str(vehicle.image_url) == "https://cdn.example.com/m.jpg"
    assert vehicle.source_name == "apify"


def test_apify_custom_map_file_per_actor(tmp_path: Path) -> None:
    """A field-maps file maps another actor's names; the item's actorId selects the map."""
    maps = {
        "default": {"vehicles": {"make": "make"}},
        "other/actor": {
            "vehicles": {
                "title": "Product name",
                "price": "Current price",
                "sourceName": "Brand",
            }
        },
    }
    path = tmp_path / "maps.json"
    path.write_bytes(orjson.dumps(maps))
    item = {
        "actorId": "other/actor",
        "Product name": "1970 Chevy Chevelle SS",
        "Current price": "$45k",
        "Brand": "carsandbids",
    }
    vehicle = _valid("apify", item, V, apify_maps_file=path)
    assert (vehicle.make, vehicle.model, str(vehicle.price)) == (
        "Chevrolet",
        "Chevelle SS",
        "45000.00",
    )
    assert vehicle.source_name == "carsandbids"


def test_apify_maps_file_must_have_a_default(tmp_path: Path) -> None:
    """A field-maps file without a default actor is refused with a clear error."""
    path = tmp_path / "maps.json"
    path.write_bytes(orjson.dumps({"x": {"vehicles": {}}}))
    with pytest.raises(ValueError, match="default"):
        load_field_maps(path)


def test_apify_website_crawler_article() -> None:
    """Website Content Crawler items (metadata.title, text) become articles."""
    item = {
        "url": "https://news.example.com/a",
        "metadata": {"title": "Auction week recap", "publishedTime": "Sep 1, 2026"},
        "text": "Body text",
    }
    article = _valid("apify", item, A)
    assert (article.title, article.body, str(article.published_date)) == (
        "Auction week recap",
        "Body text",
        "2026-09-01",
    )


def test_brave_result_becomes_an_article_with_page_age() -> None:
    """A Brave web result is an article: title, url, description as summary, page_age as date."""
    item = {
        "title": "Hagerty market report",
        "url": "https://hagerty.example.com/r",
        "description": "Prices rose.",
        "page_age": "2026-08-30T10:00:00",
    }
    article = _valid("brave", item, A)
    assert (article.summary, str(article.published_date)) == ("Prices rose.", "2026-08-30")


def test_brave_listing_takes_title_and_snippet_price() -> None:
    """A Brave listing result gives year/make/model from the title and the snippet's price."""
    item = {
        "title": "1972 Ford Bronco for sale",
        "url": "https://cars.example.com/listing/7",
        "description": "Restored truck, asking $62,500. Call now.",
    }
    vehicle = _valid("brave", item, V)
    assert (vehicle.year, vehicle.model, str(vehicle.price)) == (1972, "Bronco", "62500.00")


def test_brave_event_dates_come_from_the_snippet() -> None:
    """An event result takes its date range from the snippet."""
    item = {
        "title": "Amelia Concours",
        "url": "https://amelia.example.com",
        "description": "March 5-8, 2026 on the island",
        "eventType": "concours",
        "city": "Amelia Island",
    }
    event = _valid("brave", item, E)
    assert (str(event.start_date), str(event.end_date)) == ("2026-03-05", "2026-03-08")


def test_tavily_article_uses_raw_content_and_published_date() -> None:
    """Tavily's raw_content is the body, content the summary, published_date the date."""
    item = {
        "title": "Mecum results",
        "url": "https://x.example.com/m",
        "content": "snippet",
        "raw_content": "# Full page",
        "published_date": "Tue, 01 Sep 2026 10:00:00 GMT",
        "score": 0.8,
    }
    article = _valid("tavily", item, A)
    assert (article.body, article.summary, str(article.published_date)) == (
        "# Full page",
        "snippet",
        "2026-09-01",
    )


def test_jina_page_with_http_date() -> None:
    """A Jina Reader page (wrapped in data) is an article; an HTTP date is parsed."""
    item = {
        "data": {
            "title": "Restoring a 911",
            "url": "https://blog.example.com/911",
            "content": "markdown",
            "publishedTime": "Mon, 31 Aug 2026 22:00:00 GMT",
        }
    }
    article = _valid("jina", item, A)
    assert (article.body, str(article.published_date)) == ("markdown", "2026-08-31")


def test_perplexity_record_with_cited_url_is_kept() -> None:
    """A Perplexity record whose URL is cited keeps its fields, without the evidence keys."""
    item = {
        "name": "Hilton Head Concours",
        "eventType": "concours",
        "startDate": "Oct 30 - Nov 1, 2026",
        "city": "Hilton Head Island",
        "state": "South Carolina",
        "url": "https://www.hhiconcours.example.com/",
        "_citations": ["https://hhiconcours.example.com"],
        "_search_results": [],
    }
    event = _valid("perplexity", item, E)
    assert (event.state, str(event.end_date)) == ("SC", "2026-11-01")


def test_perplexity_record_without_support_is_invalid() -> None:
    """A record whose URL is not among citations or search results fails with a source reason."""
    item = {
        "title": "Invented story",
        "url": "https://made-up.example.com/x",
        "_citations": ["https://real.example.com/y"],
        "_search_results": [{"url": "https://real.example.com/z", "title": "z"}],
    }
    mapped = Normalizer("perplexity", "perplexity", A)(item)
    assert [check.reason_key(e) for e in mapped.errors] == ["source:url:unsupported_url"]


def test_drop_records_default_the_source_name() -> None:
    """Dropped records keep their fields; a missing sourceName becomes the file's source."""
    vehicle = _valid("drop", {"make": "chevy", "model": "nova", "year": "1969", "price": "12k"}, V)
    assert (vehicle.make, vehicle.model, vehicle.year, vehicle.source_name) == (
        "Chevrolet",
        "Nova",
        1969,
        "drop",
    )


@pytest.mark.parametrize("tool", ["drop", "apify", "brave", "tavily", "perplexity", "jina", "feed"])
@pytest.mark.parametrize("record_type", list(RecordType))
@pytest.mark.parametrize(
    "item",
    [None, 7, "text", [], {}, {"title": 5, "price": ["x"], "data": 3, "_citations": 4}],
)
def test_mappers_never_raise(tool: str, record_type: RecordType, item: Any) -> None:
    """Odd input never raises; validation then reports what is wrong."""
    mapped = Normalizer(tool, tool, record_type)(item)
    assert all(e["rule"] != "source_mapper_failed" for e in mapped.errors)
    outcome = check.validate(mapped.record, MODELS[record_type])
    assert isinstance(outcome, list)
