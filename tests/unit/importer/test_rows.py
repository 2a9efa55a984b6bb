"""Mapping processed JSON lines to the Python values asyncpg copies into the tables."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import orjson
import pytest

from services.importer import queries
from services.importer.loader import parse_lines, split_new
from shared.events import RecordType
from shared.records import processed_columns

VEHICLE_COLUMNS = processed_columns(RecordType.VEHICLES)
ARTICLE_COLUMNS = processed_columns(RecordType.ARTICLES)


def _vehicle_line(**changes: Any) -> dict[str, Any]:
    line: dict[str, Any] = dict.fromkeys(VEHICLE_COLUMNS)
    line.update(
        source_name="drop",
        make="Ford",
        model="Mustang",
        year=1967,
        price="45000.50",
        data_hash="a" * 64,
        record_position=3,
        processed_at="2026-11-29T10:00:00Z",
    )
    line.update(changes)
    return line


def test_vehicle_line_becomes_typed_values_in_column_order() -> None:
    """Price becomes a Decimal, year an int, processed_at an aware datetime, text stays text."""
    values = dict(
        zip(VEHICLE_COLUMNS, queries.to_record(VEHICLE_COLUMNS, _vehicle_line()), strict=True)
    )
    assert values["price"] == Decimal("45000.50")
    assert values["year"] == 1967
    assert values["record_position"] == 3
    assert values["processed_at"] == datetime(2026, 11, 29, 10, tzinfo=UTC)
    assert values["make"] == "Ford"
    assert values["description"] is None


def test_missing_keys_become_null_and_missing_tags_an_empty_list() -> None:
    """Absent optional values are NULL, except tags, which the table keeps as an empty array."""
    values = queries.to_record(ARTICLE_COLUMNS, {"title": "Hello", "tags": None})
    by_name = dict(zip(ARTICLE_COLUMNS, values, strict=True))
    assert by_name["tags"] == []
    assert by_name["summary"] is None
    assert by_name["title"] == "Hello"


def test_dates_and_tags_are_converted() -> None:
    """ISO dates become date objects and tags a list of strings."""
    line = {"published_date": "2026-11-28", "tags": ["mustang", "v8"]}
    by_name = dict(zip(ARTICLE_COLUMNS, queries.to_record(ARTICLE_COLUMNS, line), strict=True))
    assert by_name["published_date"] == date(2026, 11, 28)
    assert by_name["tags"] == ["mustang", "v8"]


@pytest.mark.parametrize(
    ("value", "expected"),
    [("45000.50", Decimal("45000.50")), (45000, Decimal(45000)), (12.5, Decimal("12.5"))],
)
def test_to_decimal_accepts_strings_and_numbers(value: Any, expected: Decimal) -> None:
    """Prices arrive as JSON strings (pydantic's Decimal) or numbers; both are exact Decimals."""
    assert queries.to_decimal(value) == expected


@pytest.mark.parametrize("value", ["abc", "NaN", "Infinity", True, [1]])
def test_to_decimal_refuses_non_numbers(value: Any) -> None:
    """Booleans, lists, NaN and words are not prices."""
    with pytest.raises((TypeError, ValueError)):
        queries.to_decimal(value)


def test_naive_datetime_is_taken_as_utc_and_offsets_are_kept() -> None:
    """A processed_at without zone is UTC; one with an offset keeps it."""
    assert queries.to_datetime("2026-01-02T03:04:05") == datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    plus_two = queries.to_datetime("2026-01-02T03:04:05+02:00")
    assert plus_two.utcoffset() == timezone(timedelta(hours=2)).utcoffset(None)


@pytest.mark.parametrize("value", [True, 1.5, "x", [1]])
def test_to_int_refuses_non_integers(value: Any) -> None:
    """A boolean, a fraction or a word is not a year."""
    with pytest.raises((TypeError, ValueError)):
        queries.to_int(value)


def test_wrong_type_names_the_column() -> None:
    """A value of the wrong JSON type is refused with the column's name."""
    with pytest.raises(queries.RowValueError, match="column make: expected a string"):
        queries.to_record(VEHICLE_COLUMNS, _vehicle_line(make=42))


def test_parse_lines_separates_good_rows_from_bad_lines() -> None:
    """Invalid JSON, non-objects and ill-typed values become failures with their line numbers."""
    lines = [
        (1, orjson.dumps(_vehicle_line())),
        (2, b"{not json"),
        (3, b"[1, 2]"),
        (5, orjson.dumps(_vehicle_line(year="nineteen"))),
    ]
    staged, failed = parse_lines(VEHICLE_COLUMNS, lines)
    assert [row.line for row in staged] == [1]
    assert [f.line for f in failed] == [2, 3, 5]
    assert failed[1].error == "line is not a JSON object"
    assert failed[2].error.startswith("column year:")


def test_staged_values_end_with_collected_at_and_split_new_keys_from_the_rest() -> None:
    """Rows carry the file's collected_at last; only unknown keys seen once are COPYed directly."""
    sql = queries.table_sql(RecordType.VEHICLES)
    keys = [c * 64 for c in "abcde"]
    lines = [_vehicle_line(data_hash=key, record_position=i) for i, key in enumerate(keys)]
    lines.append(_vehicle_line(data_hash=keys[3], record_position=9))
    collected = datetime(2026, 11, 29, 7, 30, tzinfo=UTC)
    numbered = [(n, orjson.dumps(line)) for n, line in enumerate(lines, 1)]
    staged, failed = parse_lines(VEHICLE_COLUMNS, numbered, collected)
    new, others = split_new(sql, staged, known={keys[1]})
    assert not failed
    assert all(row.values[-1] == collected for row in staged)
    assert len(staged[0].values) == len(sql.copy_columns)
    assert [row.values[sql.key_index] for row in staged] == [*keys, keys[3]]
    assert [row.line for row in new] == [1, 3, 5]
    assert [row.line for row in others] == [2, 4, 6]
