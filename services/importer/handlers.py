"""Handle ``records.processed``: load the batch, keep the refused rows, record it, announce it.

The handler is transport-free: it takes the typed event and its dependencies, and returns only
after every chunk is committed and ``BatchImported`` is acknowledged by JetStream, so the bus acks
the message only after the durable effect. Running it twice for the same batch changes nothing.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import asyncpg
import orjson
import structlog

from services.importer import queries
from services.importer.loader import FailedRow, LoadResult, load_file
from shared import retry
from shared.errors import BadInputError, PermanentError
from shared.events import BatchImported, BatchProcessed, Event, derived_id, utcnow
from shared.storage import DataDir, atomic_writer, day_of

log = structlog.get_logger(__name__)

IMPORT_ERRORS = "import_errors"


class Publisher(Protocol):
    """What the handler needs from the bus (``shared.bus.Bus`` or a test fake)."""

    async def publish(self, event: Event) -> None:
        """Publish an event and wait for its acknowledgement."""


@dataclass(frozen=True)
class Deps:
    """The importer's dependencies, built once in ``app.serve``."""

    pool: asyncpg.Pool
    bus: Publisher
    data_dir: DataDir
    chunk_size: int


async def handle_batch_processed(event: BatchProcessed, deps: Deps) -> None:
    """Import one processed batch into its table and publish ``BatchImported``.

    Raises:
        BadInputError: ``processed_path`` leaves ``DATA_DIR/processed``.
        PermanentError: the processed file does not exist or cannot be read.
    """
    started = time.monotonic()
    structlog.contextvars.bind_contextvars(
        batch_id=event.batch_id, record_type=event.record_type.value
    )
    path = deps.data_dir.resolve(event.processed_path, under="processed")
    try:
        result = await load_file(deps.pool, path, event.record_type, deps.chunk_size)
    except OSError as exc:
        msg = f"cannot read processed file {event.processed_path}: {exc.strerror or exc}"
        raise PermanentError(msg) from exc
    if result.failed:
        errors_path = import_errors_path(deps.data_dir, path, event)
        await asyncio.to_thread(write_import_errors, errors_path, result.failed, event)
        log.warning("import.rows_failed", failed=len(result.failed), errors_file=str(errors_path))
    await retry.for_db()(record_batch, deps.pool, event, result)
    imported = imported_event(event, result, time.monotonic() - started)
    await deps.bus.publish(imported)
    log.info(
        "import.batch_imported",
        rows_total=result.rows_total,
        inserted=result.inserted,
        updated=result.updated,
        unchanged=result.unchanged,
        failed=len(result.failed),
        chunks=result.chunks,
        duration_s=imported.duration_s,
    )


def import_errors_path(data_dir: DataDir, processed: Path, event: BatchProcessed) -> Path:
    """Return ``failed/DATE/import_errors/{type}/{processed stem}.jsonl`` for a processed file."""
    try:
        day = day_of(processed)
    except BadInputError:  # not in a dated folder: file the errors under today
        day = utcnow().date()
    return data_dir.failed(day, IMPORT_ERRORS) / event.record_type.value / f"{processed.stem}.jsonl"


def write_import_errors(path: Path, failed: list[FailedRow], event: BatchProcessed) -> None:
    """Write the refused rows as JSON Lines, atomically (a rerun replaces the file whole)."""
    with atomic_writer(path) as handle:
        for item in failed:
            entry = {
                "row": item.row,
                "error": item.error,
                "line": item.line,
                "batch_id": event.batch_id,
                "processed_path": event.processed_path,
            }
            handle.write(orjson.dumps(entry) + b"\n")


async def record_batch(pool: asyncpg.Pool, event: BatchProcessed, result: LoadResult) -> None:
    """Upsert the batch's row in ``import_batches`` with the counts of this import."""
    async with pool.acquire() as conn:
        await conn.execute(
            queries.RECORD_BATCH_SQL,
            event.batch_id,
            event.record_type.value,
            event.processed_path,
            result.rows_total,
            result.inserted,
            result.updated,
            result.unchanged,
            len(result.failed),
            result.chunks,
        )


def imported_event(event: BatchProcessed, result: LoadResult, duration_s: float) -> BatchImported:
    """Return the ``BatchImported`` event; its id is derived so a replay is deduplicated."""
    return BatchImported(
        event_id=derived_id("imported", event.batch_id, str(event.event_id)),
        batch_id=event.batch_id,
        record_type=event.record_type,
        source=event.source,
        processed_path=event.processed_path,
        rows_total=result.rows_total,
        inserted=result.inserted,
        updated=result.updated,
        unchanged=result.unchanged,
        failed=len(result.failed),
        chunks=result.chunks,
        duration_s=round(duration_s, 3),
    )
