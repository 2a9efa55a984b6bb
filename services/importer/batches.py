"""Import one processed file: load it, keep refused rows, record the batch, report progress.

This is the one import path: the ``records.processed`` handler, the ``ImportFile`` command, the
``pipeline import`` command and ``pipeline retry-failed`` all call ``import_batch``. It returns
only after every chunk is committed and ``BatchImported`` is acknowledged, and running it twice
for the same file changes nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

import asyncpg
import nats.errors
import orjson
import structlog

from services.importer import queries
from services.importer.loader import FailedRow, LoadResult, load_file
from shared import retry
from shared.errors import BadInputError, PermanentError
from shared.events import BatchImported, Event, ImportProgress, RecordType, derived_id, utcnow
from shared.faults import crash_point
from shared.storage import DataDir, atomic_writer, day_of

log = structlog.get_logger(__name__)

IMPORT_ERRORS = "import_errors"
META_NAME = "meta.json"  # the collector's per-folder ledger of raw files (services/collector/meta)

ProgressCallback = Callable[[ImportProgress], None]


class Publisher(Protocol):
    """What the import needs from the bus (``shared.bus.Bus`` or a test fake)."""

    async def publish(self, event: Event) -> None:
        """Publish an event and wait for its acknowledgement."""


@dataclass(frozen=True)
class Deps:
    """The importer's dependencies, built once in ``app.serve`` (or by a CLI command)."""

    pool: asyncpg.Pool
    bus: Publisher
    data_dir: DataDir
    chunk_size: int


@dataclass(frozen=True)
class ImportRequest:
    """What to import and how to announce it; paths are relative to DATA_DIR."""

    processed_path: str
    record_type: RecordType
    batch_id: str
    source: str
    trigger_id: str  # id of the event or command that asked: makes the derived ids stable
    rows_expected: int | None = None
    raw_path: str | None = None


async def import_batch(
    request: ImportRequest, deps: Deps, on_progress: ProgressCallback | None = None
) -> BatchImported:
    """Import one processed file into its table, publish and return ``BatchImported``.

    Raises:
        BadInputError: the path leaves ``DATA_DIR/processed``.
        PermanentError: the processed file does not exist or cannot be read.
    """
    started = time.monotonic()
    path = deps.data_dir.resolve(request.processed_path, under="processed")
    collected_at = await asyncio.to_thread(collected_at_of, deps.data_dir, request.raw_path)
    reporter = ProgressReporter(deps.bus, request, started, on_progress)
    try:
        result = await load_file(
            deps.pool,
            path,
            request.record_type,
            deps.chunk_size,
            collected_at=collected_at,
            on_chunk=reporter,
        )
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError, PermissionError) as exc:
        # Only the file itself is a permanent problem; a lost database connection (also an
        # OSError) must stay transient so the bus naks and JetStream redelivers.
        msg = f"cannot read processed file {request.processed_path}: {exc.strerror or exc}"
        raise PermanentError(msg) from exc
    if result.failed:
        errors_path = import_errors_path(deps.data_dir, path, request.record_type)
        await asyncio.to_thread(write_import_errors, errors_path, result.failed, request)
        log.warning("import.rows_failed", failed=len(result.failed), errors_file=str(errors_path))
    await retry.for_db()(record_batch, deps.pool, request, result)
    imported = imported_event(request, result, time.monotonic() - started)
    await deps.bus.publish(imported)
    crash_point("importer.before_ack")
    log.info("import.batch_imported", **imported.model_dump(include=_LOGGED_COUNTS))
    return imported


class ProgressReporter:
    """Publish ``ImportProgress`` after each chunk; telemetry never fails an import."""

    def __init__(
        self,
        bus: Publisher,
        request: ImportRequest,
        started: float,
        also: ProgressCallback | None = None,
    ) -> None:
        """Report the chunks of ``request``, timed from ``started`` (``time.monotonic``)."""
        self._bus, self._request, self._started, self._also = bus, request, started, also

    async def __call__(self, total: LoadResult) -> None:
        """Publish the running totals of the file (and pass them to the extra callback)."""
        elapsed = max(time.monotonic() - self._started, 1e-6)
        event = ImportProgress(
            event_id=derived_id(
                "progress", self._request.batch_id, self._request.trigger_id, str(total.chunks)
            ),
            batch_id=self._request.batch_id,
            record_type=self._request.record_type,
            rows_done=total.rows_total,
            rows_total=self._request.rows_expected,
            rows_per_s=round(total.rows_total / elapsed, 1),
        )
        if self._also is not None:
            self._also(event)
        try:
            await self._bus.publish(event)
        except (nats.errors.Error, OSError, TimeoutError) as exc:
            log.warning("import.progress_not_published", error=repr(exc))


def collected_at_of(data_dir: DataDir, raw_path: str | None) -> datetime | None:
    """Return when the raw file was collected, from its folder's ``meta.json``; None if unknown."""
    if not raw_path:
        return None
    raw = data_dir.root / raw_path
    try:
        meta = orjson.loads((raw.parent / META_NAME).read_bytes())
    except (OSError, orjson.JSONDecodeError):
        return None
    entries = meta.get("files", []) if isinstance(meta, dict) else []
    for entry in entries:
        if isinstance(entry, dict) and entry.get("file") == raw.name:
            with contextlib.suppress(TypeError, ValueError):
                return datetime.fromisoformat(entry["collected_at"])
    return None


def import_errors_path(data_dir: DataDir, processed: Path, record_type: RecordType) -> Path:
    """Return ``failed/DATE/import_errors/{type}/{processed stem}.jsonl`` for a processed file."""
    try:
        day = day_of(processed)
    except BadInputError:  # not in a dated folder: file the errors under today
        day = utcnow().date()
    return data_dir.failed(day, IMPORT_ERRORS) / record_type.value / f"{processed.stem}.jsonl"


def error_entry(item: FailedRow, batch_id: str, processed_path: str) -> dict[str, Any]:
    """Return the JSON entry of one refused row, as ``import_errors`` files hold them."""
    return {
        "row": item.row,
        "error": item.error,
        "line": item.line,
        "batch_id": batch_id,
        "processed_path": processed_path,
    }


def write_import_errors(path: Path, failed: list[FailedRow], request: ImportRequest) -> None:
    """Write the refused rows as JSON Lines, atomically (a rerun replaces the file whole)."""
    with atomic_writer(path) as handle:
        for item in failed:
            entry = error_entry(item, request.batch_id, request.processed_path)
            handle.write(orjson.dumps(entry) + b"\n")


async def record_batch(pool: asyncpg.Pool, request: ImportRequest, result: LoadResult) -> None:
    """Upsert the batch's row in ``import_batches`` with the counts of this import."""
    async with pool.acquire() as conn:
        await conn.execute(
            queries.RECORD_BATCH_SQL,
            request.batch_id,
            request.record_type.value,
            request.processed_path,
            result.rows_total,
            result.inserted,
            result.updated,
            result.unchanged,
            len(result.failed),
            result.chunks,
        )


_LOGGED_COUNTS = {
    "rows_total", "inserted", "updated", "unchanged", "failed", "chunks", "duration_s"
}  # fmt: skip


def imported_event(request: ImportRequest, result: LoadResult, duration_s: float) -> BatchImported:
    """Return the ``BatchImported`` event; its id is derived so a replay is deduplicated."""
    return BatchImported(
        event_id=derived_id("imported", request.batch_id, request.trigger_id),
        batch_id=request.batch_id,
        record_type=request.record_type,
        source=request.source,
        processed_path=request.processed_path,
        rows_total=result.rows_total,
        inserted=result.inserted,
        updated=result.updated,
        unchanged=result.unchanged,
        failed=len(result.failed),
        chunks=result.chunks,
        duration_s=round(duration_s, 3),
    )
