"""Re-drive failed records after a fix: refused rows, dead-lettered batches, invalid records.

- ``import_errors``: the refused rows are loaded again with the same loader; the rows that still
  fail stay in their file with the new reason (and one more attempt), the file goes when empty.
- ``retry_queue``: each queued batch is imported again in-process; a batch that loads leaves the
  queue, one that fails is rewritten with its new reason.
- ``validation_errors``: a ``ProcessFile`` command is published for each raw file named there;
  processing is idempotent and the processor rewrites the records that are still invalid.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import asyncpg
import orjson
import structlog
from pydantic import ValidationError

from services.importer import failures, queries
from services.importer.batches import (
    IMPORT_ERRORS,
    Deps,
    ImportRequest,
    Publisher,
    collected_at_of,
    import_batch,
)
from services.importer.loader import FailedRow, LoadResult, load_lines
from shared.errors import ServiceError
from shared.events import BatchProcessed, ProcessFile, RecordType, utcnow
from shared.storage import DataDir, atomic_writer

log = structlog.get_logger(__name__)

VALIDATION_ERRORS = "validation_errors"
BATCH_ERRORS: tuple[type[BaseException], ...] = (
    ServiceError,
    asyncpg.PostgresError,
    OSError,
    ValidationError,
    ValueError,
)


@dataclass
class Redriven:
    """What one re-drive did."""

    rows_loaded: int = 0
    rows_still_failing: int = 0
    batches_loaded: list[str] = field(default_factory=list)
    batches_requeued: list[str] = field(default_factory=list)
    files_requested: list[str] = field(default_factory=list)


# ---- import_errors: refused rows --------------------------------------------------------------


def _read_entries(path: Path) -> list[dict[str, Any]]:
    entries = [orjson.loads(raw) for raw in path.read_bytes().splitlines() if raw.strip()]
    return [entry for entry in entries if isinstance(entry, dict)]


def _line_of(entry: dict[str, Any]) -> bytes:
    """Return the refused row as the processed line it was (a broken line stays as it was)."""
    row = entry.get("row")
    return row.encode() if isinstance(row, str) else orjson.dumps(row)


async def redrive_rows(deps: Deps, day: date, report: Redriven) -> None:
    """Load the refused rows of ``failed/DATE/import_errors`` again; keep the ones still failing."""
    root = deps.data_dir.failed(day, IMPORT_ERRORS)
    for path in sorted(root.glob("*/*.jsonl")):
        try:
            record_type = RecordType(path.parent.name)
        except ValueError:
            log.warning("redrive.unknown_type_folder", path=str(path))
            continue
        entries = await asyncio.to_thread(_read_entries, path)
        still = await _reload(deps, record_type, entries)
        report.rows_loaded += len(entries) - len(still)
        report.rows_still_failing += len(still)
        await asyncio.to_thread(_rewrite_errors, path, still)
        log.info("redrive.rows", file=str(path), loaded=len(entries) - len(still), left=len(still))


async def _reload(
    deps: Deps, record_type: RecordType, entries: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Load the entries' rows in chunks; return the entries still refused, with the new reason."""
    sql = queries.table_sql(record_type)
    by_line = {int(entry.get("line") or i + 1): entry for i, entry in enumerate(entries)}
    first: dict[str, Any] = next((e["row"] for e in entries if isinstance(e.get("row"), dict)), {})
    collected_at = await asyncio.to_thread(collected_at_of, deps.data_dir, first.get("raw_file"))
    lines = [(number, _line_of(entry)) for number, entry in by_line.items()]
    total = LoadResult()
    for start in range(0, len(lines), deps.chunk_size):
        chunk = lines[start : start + deps.chunk_size]
        total.add(await load_lines(deps.pool, sql, chunk, collected_at))
    return [_retried(by_line[failed.line], failed) for failed in total.failed]


def _retried(entry: dict[str, Any], failed: FailedRow) -> dict[str, Any]:
    attempts = int(entry.get("attempts") or 1) + 1
    return {**entry, "error": failed.error, "attempts": attempts, "retried_at": _now()}


def _rewrite_errors(path: Path, still: list[dict[str, Any]]) -> None:
    if not still:
        path.unlink(missing_ok=True)
        return
    with atomic_writer(path) as handle:
        for entry in still:
            handle.write(orjson.dumps(entry) + b"\n")


def _now() -> str:
    return utcnow().isoformat()


# ---- retry_queue: dead-lettered batches ---------------------------------------------------------


async def redrive_queue(deps: Deps, day: date, report: Redriven) -> None:
    """Import each batch of ``failed/DATE/retry_queue`` again; requeue the ones still failing."""
    for path in await asyncio.to_thread(failures.queued, deps.data_dir, day):
        entry = await asyncio.to_thread(failures.read_entry, path)
        payload = entry["payload"]
        name = failures.queue_name(payload)
        try:
            event = BatchProcessed.model_validate(payload)
            await import_batch(_request(event), deps)
        except BATCH_ERRORS as exc:
            reason = f"retry failed: {exc}"
            attempts = int(entry.get("attempts") or 1) + 1
            subject = str(entry.get("subject") or "")
            await asyncio.to_thread(
                failures.write_entry, path, payload, reason, subject=subject, attempts=attempts
            )
            report.batches_requeued.append(name)
            log.warning("redrive.batch_requeued", batch=name, reason=reason)
            continue
        await asyncio.to_thread(path.unlink, missing_ok=True)
        report.batches_loaded.append(name)
        log.info("redrive.batch_loaded", batch=name)


def _request(event: BatchProcessed) -> ImportRequest:
    return ImportRequest(
        processed_path=event.processed_path,
        record_type=event.record_type,
        batch_id=event.batch_id,
        source=event.source,
        trigger_id=f"redrive-{uuid.uuid4()}",
        rows_expected=event.records_valid or None,
        raw_path=event.raw_path,
    )


# ---- validation_errors: invalid records ---------------------------------------------------------


def raw_files_to_reprocess(data_dir: DataDir, day: date) -> list[tuple[str, RecordType | None]]:
    """Return the raw files named in ``failed/DATE/validation_errors/*/*.jsonl``, once each."""
    found: dict[str, RecordType | None] = {}
    for path in sorted(data_dir.failed(day, VALIDATION_ERRORS).glob("*/*.jsonl")):
        kind = path.parent.name
        record_type = RecordType(kind) if kind in {t.value for t in RecordType} else None
        for entry in _read_entries(path):
            raw_file = entry.get("raw_file")
            if isinstance(raw_file, str) and raw_file not in found:
                found[raw_file] = record_type
    return list(found.items())


async def redrive_validation(
    bus: Publisher, data_dir: DataDir, day: date, report: Redriven
) -> None:
    """Publish ``ProcessFile`` for every raw file with invalid records on ``day``."""
    for raw_file, record_type in await asyncio.to_thread(raw_files_to_reprocess, data_dir, day):
        await bus.publish(ProcessFile(path=raw_file, record_type=record_type))
        report.files_requested.append(raw_file)
        log.info("redrive.process_requested", raw_file=raw_file)
