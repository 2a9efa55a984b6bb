"""History, lineage, the ImportFile command, dead letters and re-drives, against real PostgreSQL."""

# The shared fixtures live in test_importer.py; tests take them as parameters of the same name.
# ruff: noqa: F811

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import asyncpg
import orjson
import pytest

from services.importer import failures, redrive
from services.importer.handlers import (
    Deps,
    handle_batch_processed,
    handle_dead_letter,
    handle_import_file,
)
from shared.bus import Envelope
from shared.errors import BadInputError
from shared.events import AlertRaised, BatchImported, ImportFile, ImportProgress, ProcessFile
from shared.storage import DataDir
from tests.integration.test_importer import (  # noqa: F401 - fixtures
    DAY,
    VEHICLES_FILE,
    RecordingBus,
    batch_event,
    deps,
    migrated_url,
    pool,
    recorder,
    vehicle_line,
    write_jsonl,
    write_raw_meta,
)

pytestmark = [pytest.mark.postgres]

SECOND_FILE = f"processed/{DAY}/vehicles/drop_002.jsonl"


def imports(recorder: RecordingBus) -> list[BatchImported]:
    """Return the BatchImported events published so far."""
    return [e for e in recorder.published if isinstance(e, BatchImported)]


async def history(pool: asyncpg.Pool) -> list[dict[str, Any]]:
    """Return the field history rows in order."""
    return [dict(r) for r in await pool.fetch("SELECT * FROM field_history ORDER BY id")]


async def test_a_price_change_is_kept_in_the_history(
    deps: Deps, data_dir: DataDir, pool: asyncpg.Pool
) -> None:
    """A new price writes one history row (old -> new, both batches, when); the rest none."""
    lines = [vehicle_line(i) for i in range(5)]
    await handle_batch_processed(batch_event(write_jsonl(data_dir, VEHICLES_FILE, lines)), deps)
    before = await pool.fetchrow("SELECT updated_at FROM vehicles WHERE stock_number = 'S0003'")
    changed = [vehicle_line(i, batch_id="batch-2") for i in range(5)]
    changed[3] = vehicle_line(3, price=31_500, batch_id="batch-2")
    relative = write_jsonl(data_dir, SECOND_FILE, changed)
    await handle_batch_processed(batch_event(relative, batch_id="batch-2"), deps)
    rows = await history(pool)
    price = await pool.fetchrow("SELECT * FROM vehicle_price_history")
    assert len(rows) == 1
    assert (rows[0]["field"], rows[0]["old_value"], rows[0]["new_value"]) == (
        "price",
        "20003.00",
        "31500.00",
    )
    assert (rows[0]["old_batch_id"], rows[0]["batch_id"]) == ("batch-1", "batch-2")
    assert rows[0]["valid_from"] == before["updated_at"]
    assert rows[0]["changed_at"] > rows[0]["valid_from"]
    assert rows[0]["data_hash"] == changed[3]["data_hash"]
    assert (price["old_price"], price["new_price"]) == (Decimal("20003.00"), Decimal("31500.00"))
    assert price["model"] == "Model 3"


async def test_description_changes_and_reloads_are_recorded_once(
    deps: Deps, data_dir: DataDir, pool: asyncpg.Pool
) -> None:
    """A description edit is history; reloading the same file adds and touches nothing."""
    await handle_batch_processed(
        batch_event(write_jsonl(data_dir, VEHICLES_FILE, [vehicle_line(1)])), deps
    )
    edited = vehicle_line(1, batch_id="batch-2")
    edited["description"] = "Repainted in Hugger Orange"
    event = batch_event(write_jsonl(data_dir, SECOND_FILE, [edited]), batch_id="batch-2")
    await handle_batch_processed(event, deps)
    stamp = await pool.fetchval("SELECT updated_at FROM vehicles")
    await handle_batch_processed(event, deps)  # redelivery
    rows = await history(pool)
    assert [(r["field"], r["new_value"]) for r in rows] == [
        ("description", "Repainted in Hugger Orange")
    ]
    assert await pool.fetchval("SELECT updated_at FROM vehicles") == stamp


async def test_rows_carry_collected_at_from_the_raw_folder(
    deps: Deps, data_dir: DataDir, pool: asyncpg.Pool
) -> None:
    """collected_at is read from the raw folder's meta.json entry of the batch's raw file."""
    write_raw_meta(data_dir, DAY, "drop_001.json", f"{DAY}T07:30:00+00:00")
    relative = write_jsonl(data_dir, VEHICLES_FILE, [vehicle_line(i) for i in range(3)])
    await handle_batch_processed(batch_event(relative), deps)
    row = await pool.fetchrow(
        "SELECT collected_at, processed_at, imported_at, raw_file, record_position, batch_id, "
        "source_name, pipeline_version FROM vehicles WHERE stock_number = 'S0002'"
    )
    assert row["collected_at"] == datetime(2026, 11, 29, 7, 30, tzinfo=UTC)
    assert row["collected_at"] < row["processed_at"]
    assert (row["raw_file"], row["record_position"]) == (f"raw/{DAY}/vehicles/drop_001.json", 2)
    assert (row["batch_id"], row["source_name"], row["pipeline_version"]) == (
        "batch-1",
        "drop",
        "1.0.0",
    )


async def test_progress_is_published_per_chunk(
    deps: Deps, recorder: RecordingBus, data_dir: DataDir
) -> None:
    """250 rows in chunks of 100 publish three ImportProgress events, then BatchImported."""
    relative = write_jsonl(data_dir, VEHICLES_FILE, [vehicle_line(i) for i in range(250)])
    await handle_batch_processed(batch_event(relative, records_valid=250), deps)
    progress = [e for e in recorder.published if isinstance(e, ImportProgress)]
    assert [p.rows_done for p in progress] == [100, 200, 250]
    assert {p.rows_total for p in progress} == {250}
    assert all(p.batch_id == "batch-1" and p.rows_per_s > 0 for p in progress)
    assert isinstance(recorder.published[-1], BatchImported)


async def test_import_file_command_loads_with_the_same_loader(
    deps: Deps, recorder: RecordingBus, data_dir: DataDir, pool: asyncpg.Pool
) -> None:
    """ImportFile needs only the path: type, batch id and source come from the file itself."""
    relative = write_jsonl(data_dir, VEHICLES_FILE, [vehicle_line(i) for i in range(120)])
    await handle_import_file(ImportFile(path=relative), deps)
    await handle_import_file(ImportFile(path=relative), deps)  # idempotent
    first, second = imports(recorder)
    batch = await pool.fetchrow("SELECT * FROM import_batches")
    assert await pool.fetchval("SELECT count(*) FROM vehicles") == 120
    assert (first.inserted, first.chunks, first.batch_id, first.source) == (
        120,
        2,
        "batch-1",
        "drop",
    )
    assert (second.inserted, second.unchanged) == (0, 120)
    assert batch["processed_path"] == relative
    with pytest.raises(BadInputError):
        await handle_import_file(ImportFile(path="raw/x.json"), deps)


async def test_dead_letter_goes_to_the_retry_queue_with_an_alert(
    deps: Deps, recorder: RecordingBus, data_dir: DataDir
) -> None:
    """A dead-lettered batch is kept as retry_queue/<batch_id>.json and raises an alert."""
    payload = orjson.loads(batch_event(f"processed/{DAY}/vehicles/gone.jsonl").model_dump_json())
    reason = "cannot read processed file: No such file or directory"
    envelope = Envelope("dlq.records.processed", payload, {"Pipeline-Error": reason})
    await handle_dead_letter(envelope, deps)
    queued = data_dir.root / f"failed/{DAY}/retry_queue/batch-1.json"
    entry = failures.read_entry(queued)
    (alert,) = [e for e in recorder.published if isinstance(e, AlertRaised)]
    assert entry["payload"] == payload
    assert entry["reason"] == reason
    assert entry["subject"] == "dlq.records.processed"
    assert (alert.kind, alert.service, alert.severity) == (
        "import_dead_lettered",
        "importer",
        "warning",
    )
    assert alert.details["retry_file"] == f"failed/{DAY}/retry_queue/batch-1.json"
    assert reason in alert.message


async def test_redrive_requeues_a_failing_batch_and_clears_a_fixed_one(
    deps: Deps, recorder: RecordingBus, data_dir: DataDir, pool: asyncpg.Pool
) -> None:
    """A queued batch whose file is still missing is rewritten with its new reason; once the
    file exists the re-drive loads it and empties the queue."""
    payload = orjson.loads(batch_event(VEHICLES_FILE).model_dump_json())
    queued = failures.queue_path(data_dir, payload)
    failures.write_entry(queued, payload, "first reason", subject="dlq.records.processed")
    report = redrive.Redriven()
    await redrive.redrive_queue(deps, date.fromisoformat(DAY), report)
    entry = failures.read_entry(queued)
    assert report.batches_requeued == ["batch-1"]
    assert entry["attempts"] == 2
    assert "cannot read processed file" in entry["reason"]
    write_jsonl(data_dir, VEHICLES_FILE, [vehicle_line(i) for i in range(4)])
    report = redrive.Redriven()
    await redrive.redrive_queue(deps, date.fromisoformat(DAY), report)
    assert report.batches_loaded == ["batch-1"]
    assert not queued.exists()
    assert await pool.fetchval("SELECT count(*) FROM vehicles") == 4


async def test_redrive_reloads_fixed_rows_and_keeps_the_rest_with_new_reasons(
    deps: Deps, data_dir: DataDir, pool: asyncpg.Pool
) -> None:
    """Refused rows that now fit load; the ones still refused stay with a new reason."""
    lines: list[Any] = [orjson.dumps(vehicle_line(i)) for i in range(6)]
    too_long = vehicle_line(2)
    too_long["make"] = "X" * 101
    lines[2] = orjson.dumps(too_long)
    lines[4] = b'{"broken'
    await handle_batch_processed(batch_event(write_jsonl(data_dir, VEHICLES_FILE, lines)), deps)
    errors_file = data_dir.root / f"failed/{DAY}/import_errors/vehicles/drop_001.jsonl"
    entries = [orjson.loads(x) for x in errors_file.read_bytes().splitlines()]
    entries[0]["row"]["make"] = "Chevrolet"  # someone fixed the row in the file
    entries[0]["error"] = "old reason"
    errors_file.write_bytes(b"".join(orjson.dumps(e) + b"\n" for e in entries))
    report = redrive.Redriven()
    await redrive.redrive_rows(deps, date.fromisoformat(DAY), report)
    left = [orjson.loads(x) for x in errors_file.read_bytes().splitlines()]
    assert (report.rows_loaded, report.rows_still_failing) == (1, 1)
    assert await pool.fetchval("SELECT count(*) FROM vehicles") == 5
    assert [e["line"] for e in left] == [5]
    assert left[0]["attempts"] == 2
    assert "retried_at" in left[0]
    lines[4] = orjson.dumps(vehicle_line(4))
    left[0]["row"] = lines[4].decode()
    errors_file.write_bytes(orjson.dumps(left[0]) + b"\n")
    await redrive.redrive_rows(deps, date.fromisoformat(DAY), redrive.Redriven())
    assert not errors_file.exists()
    assert await pool.fetchval("SELECT count(*) FROM vehicles") == 6


async def test_redrive_of_validation_errors_asks_to_reprocess_raw_files(
    recorder: RecordingBus, data_dir: DataDir
) -> None:
    """Each raw file named in validation_errors gets one ProcessFile command."""
    folder = data_dir.failed(date.fromisoformat(DAY), "validation_errors") / "vehicles"
    folder.mkdir(parents=True)
    raw = f"raw/{DAY}/vehicles/drop_001.json"
    entries = [{"raw_file": raw, "position": p, "errors": [], "record": {}} for p in (1, 5)]
    (folder / "drop_001.jsonl").write_bytes(b"".join(orjson.dumps(e) + b"\n" for e in entries))
    report = redrive.Redriven()
    await redrive.redrive_validation(recorder, data_dir, date.fromisoformat(DAY), report)
    (command,) = recorder.published
    assert isinstance(command, ProcessFile)
    assert (command.path, command.record_type) == (raw, "vehicles")
    assert report.files_requested == [raw]


async def test_changed_enrichment_alone_changes_nothing(
    deps: Deps, data_dir: DataDir, pool: asyncpg.Pool
) -> None:
    """Re-processing that only moves the derived context leaves the row and updated_at alone."""
    lines = [vehicle_line(0)]
    await handle_batch_processed(batch_event(write_jsonl(data_dir, VEHICLES_FILE, lines)), deps)
    before = await pool.fetchrow("SELECT updated_at, enrichment FROM vehicles")
    moved = [{**vehicle_line(0, batch_id="batch-2"), "enrichment": {"market": {"comparables": 9}}}]
    relative = write_jsonl(data_dir, SECOND_FILE, moved)
    await handle_batch_processed(batch_event(relative, batch_id="batch-2"), deps)
    after = await pool.fetchrow("SELECT updated_at, enrichment FROM vehicles")
    assert after["updated_at"] == before["updated_at"]
    assert after["enrichment"] == before["enrichment"]
    assert await history(pool) == []
