"""NaN and Infinity, which JSON does not allow, fail their own record instead of the file."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.processor import reader
from services.processor.reader import UnreadableFileError, iter_values
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
    monkeypatch.setattr(reader, "SANITIZE_MAX_BYTES", 10)
    path = tmp_path / "nan.json"
    path.write_text('[{"price": NaN}]')
    with pytest.raises(UnreadableFileError, match="not valid JSON"):
        list(iter_values(path, RecordType.VEHICLES))
