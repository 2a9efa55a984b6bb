"""Record models: the seed's vehicle schema and business rules, events and articles."""

from __future__ import annotations

from decimal import Decimal

import pytest
from pydantic import ValidationError

from shared.events import RecordType
from shared.records import (
    Article,
    CarEvent,
    Vehicle,
    processed_columns,
    record_hash,
)

VEHICLE = {
    "make": "Ford",
    "model": "Mustang Fastback",
    "year": 1967,
    "price": 61000,
    "description": "Restored 289 V8",
    "imageUrl": "https://example.com/a.jpg",
    "locationCity": "Austin",
    "locationState": "TX",
    "locationRegion": "South",
    "category": "Muscle Cars",
    "condition": "Very Good",
    "sourceName": "dealer-a",
    "sourceUrl": "https://example.com/listing/1",
    "stockNumber": "A-100",
}


def test_valid_vehicle_becomes_a_snake_case_row_with_hash() -> None:
    """A seed-shaped vehicle validates and dumps snake_case columns plus data_hash."""
    row = Vehicle.model_validate(VEHICLE).to_row()
    assert row["location_city"] == "Austin"
    assert row["condition"] == "Very Good"
    assert row["category"] == "Muscle Cars"
    assert Decimal(row["price"]) == Decimal(61000)
    assert row["data_hash"] == record_hash("Ford", "Mustang Fastback", 1967, "A-100", "dealer-a")


def test_hash_ignores_case_and_spacing() -> None:
    """The natural key is the same whatever the case and spacing of its parts."""
    tidy = Vehicle.model_validate(VEHICLE).data_hash()
    messy = Vehicle.model_validate({**VEHICLE, "make": " FORD ", "model": "mustang  fastback"})
    assert messy.data_hash() == tidy


@pytest.mark.parametrize("blank", ["", "   ", "\t\n"])
@pytest.mark.parametrize(
    "key",
    [
        "description",
        "locationCity",
        "locationState",
        "stockNumber",
        "imageUrl",
        "sourceUrl",
        "category",
        "condition",
    ],
)
def test_a_blank_optional_field_is_missing(key: str, blank: str) -> None:
    """Scraped listings often carry "" for what they lack: the field is absent, not an error."""
    record = Vehicle.model_validate({**VEHICLE, key: blank})
    name = next(n for n, field in Vehicle.model_fields.items() if field.alias == key)
    assert getattr(record, name) is None


def test_blank_or_null_optional_fields_of_events_and_articles_take_their_defaults() -> None:
    """Blank dates and categories are missing, null or blank tags none, a blank country US."""
    event = {"name": "Show", "eventType": "show", "startDate": "2026-05-02", "city": "Austin"}
    parsed = CarEvent.model_validate({**event, "sourceName": "x", "endDate": "", "country": " "})
    assert (parsed.end_date, parsed.country) == (None, "US")
    assert CarEvent.model_validate({**event, "sourceName": "x", "country": None}).country == "US"
    article = {"title": "Pebble Beach 2026", "url": "https://x.com/a", "sourceName": "jina"}
    for blanks in ({"publishedDate": " ", "category": "", "tags": None}, {"tags": ""}):
        parsed_article = Article.model_validate({**article, **blanks})
        assert (parsed_article.published_date, parsed_article.category) == (None, None)
        assert parsed_article.tags == []


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"make": ""}, ("make", "string_too_short", "String should have at least 1 character")),
        (
            {"make": "X" * 101},
            ("make", "string_too_long", "String should have at most 100 characters"),
        ),
        (
            {"stockNumber": "S" * 101},
            ("stockNumber", "string_too_long", "String should have at most 100 characters"),
        ),
        (
            {"imageUrl": "https://a.example/" + "x" * 65_530},
            ("imageUrl", "string_too_long", "String should have at most 65536 characters"),
        ),
        ({"make": None}, ("make", "string_type", "Input should be a valid string")),
    ],
)
def test_text_failures_say_what_is_wrong_with_the_text(
    changes: dict[str, object], expected: tuple[str, str, str]
) -> None:
    """Blank required text is too short; lengths are counted in characters; null is no text."""
    with pytest.raises(ValidationError) as caught:
        Vehicle.model_validate({**VEHICLE, **changes})
    assert [(e["loc"][0], e["type"], e["msg"]) for e in caught.value.errors()] == [expected]


def test_text_is_tidied_before_its_length_is_checked() -> None:
    """Whitespace runs count as one space: a 50-character make padded with spaces is valid."""
    padded = "  " + "A B " * 12 + "AB  "  # 50 characters once single-spaced and trimmed
    record = Vehicle.model_validate({**VEHICLE, "make": padded, "locationCity": " San   Jose "})
    assert (len(record.make), record.location_city) == (50, "San Jose")


def test_the_input_is_not_changed_by_tidying() -> None:
    """The caller's dict is copied before its strings are tidied (it is kept for failures)."""
    raw = {**VEHICLE, "make": " Ford ", "description": ""}
    Vehicle.model_validate(raw)
    assert (raw["make"], raw["description"]) == (" Ford ", "")


def test_every_failure_is_collected_and_business_rules_are_typed() -> None:
    """A bad record reports all its failures; price and year rules are business_rule errors."""
    with pytest.raises(ValidationError) as caught:
        Vehicle.model_validate({**VEHICLE, "year": 1910, "price": 500, "condition": "meh"})
    errors = {(e["loc"][0], e["type"]) for e in caught.value.errors()}
    assert ("year", "business_rule") in errors
    assert ("price", "business_rule") in errors
    assert ("condition", "enum") in errors


@pytest.mark.parametrize(
    ("price", "ok"), [(999, False), (1000, True), (10_000_000, True), (10_000_001, False)]
)
def test_price_bounds_are_inclusive(price: int, ok: bool) -> None:
    """Prices from 1,000 to 10,000,000 inclusive are accepted."""
    if ok:
        assert Vehicle.model_validate({**VEHICLE, "price": price}).price == price
    else:
        with pytest.raises(ValidationError):
            Vehicle.model_validate({**VEHICLE, "price": price})


@pytest.mark.parametrize("bad", ["NaN", "Infinity", float("nan")])
def test_non_finite_prices_are_refused(bad: object) -> None:
    """NaN and Infinity are never a price."""
    with pytest.raises(ValidationError):
        Vehicle.model_validate({**VEHICLE, "price": bad})


def test_event_dates_must_be_in_order() -> None:
    """An event that ends before it starts breaks a business rule."""
    event = {
        "name": "Hershey Fall Meet",
        "eventType": "Swap Meet",
        "startDate": "2026-10-07",
        "endDate": "2026-10-10",
        "city": "Hershey",
        "sourceName": "aaca",
    }
    assert CarEvent.model_validate(event).event_type == "swap_meet"
    with pytest.raises(ValidationError) as caught:
        CarEvent.model_validate({**event, "endDate": "2026-10-01"})
    assert caught.value.errors()[0]["type"] == "business_rule"


def test_article_requires_a_url_and_bounds_tags() -> None:
    """An article needs a valid URL; more than 20 tags is refused."""
    article = {"title": "Pebble Beach 2026", "url": "https://x.com/a", "sourceName": "jina"}
    assert Article.model_validate(article).tags == []
    with pytest.raises(ValidationError):
        Article.model_validate({**article, "url": "not a url"})
    with pytest.raises(ValidationError):
        Article.model_validate({**article, "tags": [f"t{i}" for i in range(21)]})


def test_processed_columns_cover_model_hash_and_lineage() -> None:
    """The processed line's columns hold every model field, the hash and the lineage."""
    columns = processed_columns(RecordType.VEHICLES)
    assert {"make", "data_hash", "investment_grade", "raw_file", "batch_id"} <= set(columns)
    assert len(columns) == len(set(columns))


def test_tags_are_tidied_and_blank_ones_left_out() -> None:
    """A blank tag is no tag; a tag's length is counted in characters; a non-string still fails."""
    article = {"title": "Pebble Beach 2026", "url": "https://x.com/a", "sourceName": "jina"}
    tags = Article.model_validate({**article, "tags": ["auction", "  ", " Pebble   Beach "]}).tags
    assert tags == ["auction", "Pebble Beach"]
    with pytest.raises(ValidationError) as caught:
        Article.model_validate({**article, "tags": ["ok", "t" * 51, 5]})
    assert [(e["loc"], e["type"]) for e in caught.value.errors()] == [
        (("tags", 1), "string_too_long"),
        (("tags", 2), "string_type"),
    ]


def test_a_number_in_a_text_field_is_its_digits() -> None:
    """Stock numbers and models ("911") often come as JSON numbers; a boolean is still no text."""
    record = Vehicle.model_validate({**VEHICLE, "model": 911, "stockNumber": 12345})
    assert (record.model, record.stock_number) == ("911", "12345")
    as_text = Vehicle.model_validate({**VEHICLE, "model": "911", "stockNumber": "12345"})
    assert record.data_hash() == as_text.data_hash()
    with pytest.raises(ValidationError) as caught:
        Vehicle.model_validate({**VEHICLE, "locationCity": True})
    assert [e["type"] for e in caught.value.errors()] == ["string_type"]


def test_a_vehicle_keeps_required_text_of_only_spaces_as_the_seed_does() -> None:
    """The seed's schema takes " " as a make of length 1; an event's blank name still fails."""
    assert Vehicle.model_validate({**VEHICLE, "make": "  "}).make == "  "
    event = {"name": "   ", "eventType": "show", "startDate": "2026-06-01", "city": "Tulsa"}
    with pytest.raises(ValidationError, match="at least 3 characters"):
        CarEvent.model_validate({**event, "sourceName": "x"})
