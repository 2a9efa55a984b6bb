"""The streaming reader: every accepted JSON shape, and files that cannot be read at all."""

from __future__ import annotations

import tracemalloc
from decimal import Decimal
from pathlib import Path

import orjson
import pytest

from services.processor.stages.read import UnreadableFileError, iter_values
from shared.events import RecordType

from .conftest import RawFactory, vehicle


def _read(path: Path, record_type: RecordType = RecordType.VEHICLES) -> list[object]:
    return list(iter_values(path, record_type))


def test_array_yields_each_element_with_exact_numbers(raw_file: RawFactory) -> None:
    """A JSON array yields its elements in order, with decimals as Decimal, not float."""
    path = raw_file(b'[{"price": 12345.67}, {"price": 2}]')
    assert _read(path) == [{"price": Decimal("12345.67")}, {"price": 2}]


@pytest.mark.parametrize(
    "key", ["items", "data", "records", "results", "vehicles", "listings", "lots", "hits"]
)
def test_envelope_key_yields_the_list_under_it(raw_file: RawFactory, key: str) -> None:
    """An object holding the records under a known key yields that list, not the envelope."""
    payload = {"meta": {"count": 2, "items": "not a list"}, key: [vehicle(), vehicle(make="BMW")]}
    assert [r["make"] for r in _read(raw_file(payload))] == ["Ford", "BMW"]  # type: ignore[index]


def test_record_type_name_is_an_envelope_only_for_its_type(raw_file: RawFactory) -> None:
    """The key ``events`` is an envelope for event files but a plain field for vehicle files."""
    path = raw_file({"events": [{"name": "Show"}]})
    assert _read(path, RecordType.EVENTS) == [{"name": "Show"}]
    assert _read(path, RecordType.VEHICLES) == [{"events": [{"name": "Show"}]}]


def test_json_lines_and_concatenated_objects(raw_file: RawFactory) -> None:
    """JSON Lines, blank lines and objects written back to back are each a record."""
    path = raw_file(b'{"a": 1}\n\n{"a": 2}{"a": 3}\n  {"a": {"data": [4]}}\n')
    assert _read(path) == [{"a": 1}, {"a": 2}, {"a": 3}, {"a": {"data": [4]}}]


def test_utf8_bom_and_leading_whitespace_are_skipped(raw_file: RawFactory) -> None:
    """A UTF-8 byte order mark and leading whitespace do not stop the file from parsing."""
    path = raw_file(b'\xef\xbb\xbf \r\n\t[{"make": "Citro\xc3\xabn"}]')
    assert _read(path) == [{"make": "Citroën"}]


def test_non_object_items_are_yielded_for_the_validator(raw_file: RawFactory) -> None:
    """Scalars and lists inside the array come out as they are; validation rejects them."""
    assert _read(raw_file(b'[1, "x", null, [2], {"a": 1}]')) == [1, "x", None, [2], {"a": 1}]


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"", "empty file"),
        (b" \n\t ", "empty file"),
        (b"\xef\xbb\xbf", "empty file"),
        (b"42", "scalar"),
        (b'"text"', "scalar"),
        (b"\x89PNG\r\n\x1a\n\x00\x00", "not JSON"),
        (b"hello, world", "not JSON"),
    ],
)
def test_unusable_start_is_a_file_error(raw_file: RawFactory, content: bytes, reason: str) -> None:
    """An empty file, a top-level scalar or binary content is refused before any record."""
    with pytest.raises(UnreadableFileError, match=reason) as caught:
        _read(raw_file(content))
    assert caught.value.position()["records_before_error"] == 0


@pytest.mark.parametrize(
    "content",
    [
        b'[{"make": "Ford"}, {"make": "BM',
        b'{"items": [{"make": "Ford"}, {"ma',
        b'{"make": "Ford"}\n{"make": ',
        b'[{"make": "Ford"}] trailing',
        b'[{"make": "\xff\xfe"}]',
    ],
)
def test_broken_json_is_a_file_error_with_position(raw_file: RawFactory, content: bytes) -> None:
    """Truncated, trailing-garbage or invalid UTF-8 content fails with how far reading got."""
    with pytest.raises(UnreadableFileError, match="not valid JSON") as caught:
        _read(raw_file(content))
    position = caught.value.position()
    assert position["bytes_read"] > 0
    assert position["records_before_error"] in (0, 1)


def _write_array(path: Path, count: int) -> Path:
    line = orjson.dumps(vehicle(description="x" * 100))
    with path.open("wb") as handle:
        handle.write(b"[" + b",".join([line] * count) + b"]")
    return path


def test_large_file_is_counted_by_streaming(tmp_path: Path) -> None:
    """A 200,000-record file (tens of megabytes) is read through, one record at a time."""
    path = _write_array(tmp_path / "big.json", 200_000)
    assert sum(1 for _ in iter_values(path, RecordType.VEHICLES)) == 200_000
    assert path.stat().st_size > 40_000_000


def test_reader_memory_does_not_grow_with_the_file(tmp_path: Path) -> None:
    """Reading peaks at a small fraction of the file size: records are never held together."""
    path = _write_array(tmp_path / "medium.json", 20_000)
    tracemalloc.start()
    try:
        count = sum(1 for _ in iter_values(path, RecordType.VEHICLES))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count == 20_000
    assert peak < path.stat().st_size / 10
