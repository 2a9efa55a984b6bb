"""Hostile JSON: NaN/Infinity fail their own record; deep nesting is refused up front."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from services.processor.stages import read
from services.processor.stages.read import UnreadableFileError, iter_values
from shared.events import RecordType


def test_bare_nan_and_infinity_become_strings_and_strings_stay(tmp_path: Path) -> None:
    """Bare NaN/Infinity tokens are quoted; the same words inside strings are untouched."""
    path = tmp_path / "nan.json"
    path.write_text('[{"d": "say NaN, [NaN"}, {"price": NaN}, {"price": -Infinity}, {"ok": 1}]')
    assert list(iter_values(path, RecordType.VEHICLES)) == [
        {"d": "say NaN, [NaN"},
        {"price": "NaN"},
        {"price": "-Infinity"},
        {"ok": 1},
    ]


def test_large_files_with_nan_are_rejected_with_a_reason(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Above the in-memory bound, a file with NaN is rejected whole, with the parser's reason."""
    monkeypatch.setattr(read, "SANITIZE_MAX_BYTES", 10)
    path = tmp_path / "nan.json"
    path.write_text('[{"price": NaN}]')
    with pytest.raises(UnreadableFileError, match="not valid JSON"):
        list(iter_values(path, RecordType.VEHICLES))


@pytest.mark.parametrize(
    "content",
    [
        b"[" * 100_000 + b"]" * 100_000,
        b'[{"a":' * 5_000 + b"1" + b"}]" * 5_000,
        # flat and shallow records first, in the same read window: the deep run comes later
        b'[{"a": 1}, {"b": [1]}, {"c": {"d": 2}}, ' + b'{"e":' * 200 + b"1" + b"}" * 200 + b"]",
        # values between the brackets: 2,000 deep in 8 KB
        b"[" + b"[0," * 2_000 + b"0" + b"]" * 2_000 + b"]",
        b'[{"a": "x", "b": ' * 100 + b"1" + b"}]" * 100,
        # a string full of closing brackets cannot hide the depth
        b'["]]]]]]]]", ' + rb'[{"k": "}}}}\\", "v": ' * 40 + b"0" + b"}]" * 40 + b"]",
    ],
)
def test_deeply_nested_json_is_rejected_quickly(tmp_path: Path, content: bytes) -> None:
    """Nesting far deeper than any record is refused with a reason, before parsing."""
    path = tmp_path / "deep.json"
    path.write_bytes(content)
    with pytest.raises(UnreadableFileError, match="nested deeper than"):
        list(iter_values(path, RecordType.VEHICLES))


def test_brackets_inside_strings_do_not_count(tmp_path: Path) -> None:
    """Brackets in strings, escaped quotes and backslashes among them, are text, not nesting."""
    records = [
        {"d": "[{" * 500 + '\\" [[', "e": "\\"},
        {"f": "[[[", "g": ['"]"', "\\\\"]},
    ]
    path = tmp_path / "text.json"
    path.write_bytes(orjson.dumps(records))
    assert list(iter_values(path, RecordType.VEHICLES)) == records


def test_ordinary_nesting_is_accepted(tmp_path: Path) -> None:
    """Records with a few nested levels read as usual."""
    path = tmp_path / "ok.json"
    path.write_text('[{"a": {"b": [{"c": [1, 2]}]}, "tags": ["x"]}]')
    assert list(iter_values(path, RecordType.VEHICLES)) == [
        {"a": {"b": [{"c": [1, 2]}]}, "tags": ["x"]}
    ]
