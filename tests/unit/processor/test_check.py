"""Validation into records or collected errors, reason keys, and serialization of lines."""

from __future__ import annotations

from decimal import Decimal

import orjson

from services.processor.stages import check
from services.processor.stages.normalize import Normalizer
from shared.events import RecordType
from shared.records import Article, CarEvent, Vehicle

from .conftest import vehicle


def test_valid_object_becomes_a_record() -> None:
    """A valid camelCase object is validated into the canonical record."""
    outcome = check.validate(vehicle(price=Decimal("12345.67")), Vehicle)
    assert isinstance(outcome, Vehicle)
    assert outcome.price == Decimal("12345.67")


def test_every_error_of_a_record_is_collected() -> None:
    """Schema and business-rule failures of one record are all reported, each with its field."""
    outcome = check.validate(vehicle(price="cheap", year=1900, make=None), Vehicle)
    assert isinstance(outcome, list)
    by_field = {e["field"]: e for e in outcome}
    assert by_field["price"]["rule"] == "decimal_parsing"
    assert by_field["price"]["value"] == "cheap"
    assert by_field["year"]["rule"] == "business_rule"
    assert by_field["make"]["rule"] == "string_type"


def test_business_rule_and_schema_failures_get_apart_reason_keys() -> None:
    """Business-rule errors are keyed by field only; schema errors by field and rule."""
    outcome = check.validate(vehicle(price=500, year="old"), Vehicle)
    assert isinstance(outcome, list)
    keys: dict[str, int] = {}
    check.count_reasons(outcome, keys)
    assert keys == {"business_rule:price": 1, "schema:year:int_parsing": 1}


def test_model_level_business_rule_is_keyed_to_the_record() -> None:
    """An error without a field (end date before start date) is counted under ``record``."""
    raw = {
        "sourceName": "x",
        "name": "Spring Show",
        "eventType": "show",
        "startDate": "2026-05-02",
        "endDate": "2026-05-01",
        "city": "Austin",
    }
    outcome = check.validate(raw, CarEvent)
    assert isinstance(outcome, list)
    assert [check.reason_key(e) for e in outcome] == ["business_rule:record"]


def test_nested_error_is_aggregated_by_top_level_field() -> None:
    """An error inside a list (tags.1) counts under its top-level field, keeping keys few."""
    raw = {"sourceName": "x", "title": "Title", "url": "https://a.example/", "tags": ["ok", 5]}
    outcome = check.validate(raw, Article)
    assert isinstance(outcome, list)
    assert outcome[0]["field"] == "tags.1"
    assert check.reason_key(outcome[0]) == "schema:tags:string_type"


def test_non_object_is_invalid_with_reason_not_an_object() -> None:
    """A value that is not an object is an invalid record with the reason "not an object"."""
    outcome = check.validate([1, 2], Vehicle)
    assert outcome == [
        {"field": "", "rule": "not_an_object", "message": "not an object", "value": "[1, 2]"}
    ]


def test_long_and_odd_values_are_truncated_reprs() -> None:
    """Error values stay short and JSON-safe: long strings are cut, Decimals become strings."""
    assert check.safe_value("x" * 1000) == "x" * check.MAX_VALUE_CHARS + "..."
    assert check.safe_value(Decimal("1.50")) == "1.50"
    assert check.safe_value({"a": 1}) == "{'a': 1}"
    assert check.safe_value(None) is None


def test_missing_field_error_has_no_value() -> None:
    """A missing field reports no value instead of echoing the whole record."""
    raw = vehicle()
    del raw["make"]
    outcome = check.validate(raw, Vehicle)
    assert isinstance(outcome, list)
    assert outcome == [
        {"field": "make", "rule": "missing", "message": "Field required", "value": None}
    ]


def test_failure_line_serializes_decimals_and_falls_back_to_repr() -> None:
    """Original records with Decimals serialize as numbers; unserializable ones become a repr."""
    line = check.failure_line("raw/f.json", 3, [], {"price": Decimal("1.5"), "n": Decimal(2)})
    assert orjson.loads(line) == {
        "raw_file": "raw/f.json",
        "position": 3,
        "errors": [],
        "record": {"price": 1.5, "n": 2},
    }
    huge = check.failure_line("raw/f.json", 0, [], {"year": 10**30})
    assert orjson.loads(huge)["record"] == "{'year': 1000000000000000000000000000000}"


def test_a_price_in_another_currency_fails_once_with_its_reason() -> None:
    """Not read as dollars, not converted: one failure that says why, none from validation."""
    mapped = Normalizer("drop", "drop", RecordType.VEHICLES)(vehicle(price="\u00a345,000"))
    outcome = check.validate(mapped.record, Vehicle)
    errors = check.with_source_errors(mapped.errors, outcome)
    assert [(e["field"], e["rule"], e["value"]) for e in errors] == [
        ("price", "source_currency", "\u00a345,000")
    ]
    assert "not US dollars" in errors[0]["message"]
    assert [check.reason_key(e) for e in errors] == ["source:price:currency"]


def test_validation_still_reports_the_fields_the_mapping_did_not_explain() -> None:
    """Only the field a source error names is left out of validation's failures."""
    source = [{"field": "price", "rule": "source_currency", "message": "m", "value": "x"}]
    outcome = check.validate(vehicle(price="x", year=1900), Vehicle)
    assert isinstance(outcome, list)
    merged = check.with_source_errors(source, outcome)
    assert [(e["field"], e["rule"]) for e in merged] == [
        ("price", "source_currency"),
        ("year", "business_rule"),
    ]
    assert check.with_source_errors([], outcome) == outcome
