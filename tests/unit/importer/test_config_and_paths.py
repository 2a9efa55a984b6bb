"""The importer's settings and where it files refused rows."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from services.importer.config import ImporterSettings
from services.importer.handlers import import_errors_path
from shared.events import RecordType
from shared.storage import DataDir


def test_settings_defaults_and_prefixed_knobs(monkeypatch: pytest.MonkeyPatch) -> None:
    """Chunk size defaults to 5000 and two batches in flight; IMPORTER_ variables override."""
    monkeypatch.setenv("DATABASE_URL", "postgresql://u@localhost/db")
    monkeypatch.delenv("IMPORTER_CHUNK_SIZE", raising=False)
    assert (ImporterSettings().chunk_size, ImporterSettings().max_in_flight) == (5000, 1)
    assert ImporterSettings().max_deliver == 10
    monkeypatch.setenv("IMPORTER_CHUNK_SIZE", "250")
    assert ImporterSettings().chunk_size == 250


def test_chunk_size_below_100_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    """A tiny chunk size would turn one file into thousands of transactions, so it is refused."""
    monkeypatch.setenv("DATABASE_URL", "postgresql://u@localhost/db")
    monkeypatch.setenv("IMPORTER_CHUNK_SIZE", "10")
    with pytest.raises(ValidationError):
        ImporterSettings()


def test_import_errors_go_under_the_processed_files_day(tmp_path: Path) -> None:
    """Refused rows of processed/DATE/type/x.jsonl go to failed/DATE/import_errors/type/x.jsonl."""
    data = DataDir(tmp_path)
    processed = tmp_path / "processed/2026-11-29/events/drop_001.jsonl"
    path = import_errors_path(data, processed, RecordType.EVENTS)
    assert path == tmp_path / "failed/2026-11-29/import_errors/events/drop_001.jsonl"
