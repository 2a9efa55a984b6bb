"""Retry-queue names, processed-file descriptions, lineage lookups and the progress reporter."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime
from pathlib import Path

import orjson
import pytest

from services.importer import failures
from services.importer.batches import ImportRequest, ProgressReporter, collected_at_of
from services.importer.config import ImporterSettings
from services.importer.files import processed_files, record_type_of, request_for_file
from services.importer.loader import LoadResult
from services.importer.redrive import raw_files_to_reprocess
from shared.errors import BadInputError, PermanentError
from shared.events import Event, ImportProgress, RecordType
from shared.storage import DataDir

DAY = date(2026, 11, 29)


class ListBus:
    """Keeps what is published."""

    def __init__(self) -> None:
        """Start empty."""
        self.published: list[Event] = []

    async def publish(self, event: Event) -> None:
        """Keep the event."""
        self.published.append(event)


def test_queue_path_uses_batch_id_and_processed_day(tmp_path: Path) -> None:
    """A dead-lettered batch is filed under its processed file's day, named by its batch id."""
    data = DataDir(tmp_path)
    payload = {"batch_id": "abc/../x", "processed_path": "processed/2026-11-28/vehicles/a.jsonl"}
    path = failures.queue_path(data, payload)
    assert path == tmp_path / "failed/2026-11-28/retry_queue/abc_.._x.json"


def test_queue_name_of_a_payload_without_batch_id_is_a_digest() -> None:
    """A payload that was not even a valid event still gets a stable file name."""
    name = failures.queue_name({"weird": 1})
    assert name.startswith("payload-")
    assert name == failures.queue_name({"weird": 1})
    assert failures.queue_day({"processed_path": "nowhere"}) == datetime.now(UTC).date()


def test_queue_entries_round_trip(tmp_path: Path) -> None:
    """An entry keeps the payload, the reason, the subject, when and how many attempts."""
    path = tmp_path / "q.json"
    failures.write_entry(path, {"batch_id": "b"}, "boom", subject="dlq.records.processed")
    entry = failures.read_entry(path)
    assert (entry["payload"], entry["reason"], entry["attempts"]) == ({"batch_id": "b"}, "boom", 1)
    assert datetime.fromisoformat(entry["queued_at"]).tzinfo is not None
    path.write_bytes(b"[]")
    with pytest.raises(ValueError, match="not a retry-queue entry"):
        failures.read_entry(path)


def test_request_for_file_reads_lineage_from_the_first_line(tmp_path: Path) -> None:
    """Batch id, source, raw file and the row count come from the file; the type from its folder."""
    data = DataDir(tmp_path)
    path = tmp_path / "processed/2026-11-29/events/feed_001.jsonl"
    path.parent.mkdir(parents=True)
    line = {"batch_id": "b-7", "source_name": "feed", "raw_file": "raw/2026-11-29/events/f.json"}
    path.write_bytes(orjson.dumps(line) + b"\n\n" + orjson.dumps(line) + b"\n")
    request = request_for_file(data, "processed/2026-11-29/events/feed_001.jsonl", "t1")
    assert request.record_type is RecordType.EVENTS
    assert (request.batch_id, request.source, request.rows_expected) == ("b-7", "feed", 2)
    assert request.raw_path == "raw/2026-11-29/events/f.json"
    assert processed_files(data, DAY) == [path]


def test_request_for_file_refuses_unknown_types_and_missing_files(tmp_path: Path) -> None:
    """A file outside a type folder needs an explicit type; a missing file is permanent."""
    data = DataDir(tmp_path)
    with pytest.raises(BadInputError, match="record type"):
        record_type_of(tmp_path / "processed/2026-11-29/x.jsonl")
    with pytest.raises(PermanentError, match="cannot read"):
        request_for_file(data, "processed/2026-11-29/vehicles/none.jsonl", "t")
    with pytest.raises(BadInputError):
        request_for_file(data, "raw/2026-11-29/vehicles/a.json", "t")


def test_collected_at_comes_from_the_raw_folder_meta(tmp_path: Path) -> None:
    """The collector's meta.json entry of the raw file gives collected_at; unknown gives None."""
    data = DataDir(tmp_path)
    folder = tmp_path / "raw/2026-11-29/vehicles"
    folder.mkdir(parents=True)
    entries = {"files": [{"file": "drop_001.json", "collected_at": "2026-11-29T08:00:00+00:00"}]}
    (folder / "meta.json").write_bytes(orjson.dumps(entries))
    found = collected_at_of(data, "raw/2026-11-29/vehicles/drop_001.json")
    assert found == datetime(2026, 11, 29, 8, tzinfo=UTC)
    assert collected_at_of(data, "raw/2026-11-29/vehicles/drop_002.json") is None
    assert collected_at_of(data, None) is None


def test_raw_files_to_reprocess_lists_each_raw_file_once(tmp_path: Path) -> None:
    """Every raw file named in the day's validation errors is listed once, with its type."""
    data = DataDir(tmp_path)
    folder = data.failed(DAY, "validation_errors") / "vehicles"
    folder.mkdir(parents=True)
    lines = [{"raw_file": "raw/2026-11-29/vehicles/a.json", "position": i} for i in range(3)]
    lines.append({"raw_file": "raw/2026-11-29/vehicles/b.json", "position": 0})
    (folder / "a.jsonl").write_bytes(b"".join(orjson.dumps(x) + b"\n" for x in lines))
    assert raw_files_to_reprocess(data, DAY) == [
        ("raw/2026-11-29/vehicles/a.json", RecordType.VEHICLES),
        ("raw/2026-11-29/vehicles/b.json", RecordType.VEHICLES),
    ]


async def test_progress_reporter_publishes_running_totals() -> None:
    """Each chunk publishes rows done of rows expected with a rate, and feeds the callback."""
    bus, seen = ListBus(), []
    request = ImportRequest("processed/x.jsonl", RecordType.VEHICLES, "b1", "drop", "t", 250)
    reporter = ProgressReporter(bus, request, time.monotonic(), seen.append)
    await reporter(LoadResult(rows_total=100, chunks=1))
    await reporter(LoadResult(rows_total=200, chunks=2))
    assert [e.rows_done for e in bus.published if isinstance(e, ImportProgress)] == [100, 200]
    assert seen == bus.published
    assert all(e.rows_total == 250 and e.rows_per_s > 0 for e in seen)
    assert bus.published[0].event_id != bus.published[1].event_id


def test_migrations_use_the_owner_url_when_given(monkeypatch: pytest.MonkeyPatch) -> None:
    """MIGRATION_DATABASE_URL is the owner DSN; without it migrations use DATABASE_URL."""
    monkeypatch.setenv("DATABASE_URL", "postgresql://app@localhost/db")
    monkeypatch.delenv("MIGRATION_DATABASE_URL", raising=False)
    assert ImporterSettings().owner_database_url.get_secret_value().startswith("postgresql://app@")
    monkeypatch.setenv("MIGRATION_DATABASE_URL", "postgresql://owner@localhost/db")
    monkeypatch.setenv("IMPORTER_APP_ROLE", "pipeline_app")
    settings = ImporterSettings()
    assert settings.owner_database_url.get_secret_value().startswith("postgresql://owner@")
    assert settings.app_role == "pipeline_app"
