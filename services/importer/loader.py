"""Chunked loading of one processed JSON Lines file: stream, stage, upsert, isolate bad rows.

Each chunk is one transaction (COPY into the staging table, then one upsert), retried on
transient database errors with the ``for_db`` policy. A chunk the database refuses for its data
is split in halves until the refused rows are isolated; the others are loaded. The file is read
in a worker thread, one chunk at a time, so memory stays bounded by the chunk size.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO, Any

import asyncpg
import asyncpg.exceptions._base as asyncpg_base
import orjson
import structlog

from services.importer import queries
from shared import retry
from shared.events import RecordType

log = structlog.get_logger(__name__)

DATA_ERRORS: tuple[type[BaseException], ...] = (
    asyncpg.DataError,  # class 22: too long, out of range, invalid text, NUL byte ...
    asyncpg.IntegrityConstraintViolationError,  # class 23: NOT NULL, CHECK, ...
    asyncpg.ProgramLimitExceededError,  # class 54: e.g. a text too long for a tsvector
    asyncpg_base.DataError,  # client side: a value asyncpg cannot encode for its column
)
"""Errors caused by the rows themselves: retrying never helps, isolating them does."""


class RowsRefusedError(Exception):
    """The database refused a set of rows for their data (not retried, split instead)."""


@dataclass(frozen=True)
class StagedRow:
    """One processed line ready to COPY: its 1-based line number, JSON object and values."""

    line: int
    data: dict[str, Any]
    values: tuple[Any, ...]


@dataclass(frozen=True)
class FailedRow:
    """One line that could not be loaded, with the reason."""

    line: int
    row: Any
    error: str


@dataclass
class LoadResult:
    """Counts of one load (a chunk or a whole file)."""

    rows_total: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    chunks: int = 0
    failed: list[FailedRow] = field(default_factory=list)

    def add(self, other: LoadResult) -> None:
        """Add another result's counts and failures to this one."""
        self.rows_total += other.rows_total
        self.inserted += other.inserted
        self.updated += other.updated
        self.unchanged += other.unchanged
        self.chunks += other.chunks
        self.failed.extend(other.failed)


class LineReader:
    """Blocking reader of numbered non-blank lines; call it through ``asyncio.to_thread``."""

    def __init__(self, path: Path) -> None:
        """Open ``path`` for reading (raises ``OSError`` such as ``FileNotFoundError``)."""
        self._handle: IO[bytes] = path.open("rb")
        self._number = 0

    def read(self, size: int) -> list[tuple[int, bytes]]:
        """Return up to ``size`` non-blank lines with their line numbers; [] at the end."""
        lines: list[tuple[int, bytes]] = []
        while len(lines) < size:
            raw = self._handle.readline()
            if not raw:
                break
            self._number += 1
            if raw.strip():
                lines.append((self._number, raw))
        return lines

    def close(self) -> None:
        """Close the file."""
        self._handle.close()


def parse_lines(
    columns: tuple[str, ...], lines: list[tuple[int, bytes]]
) -> tuple[list[StagedRow], list[FailedRow]]:
    """Decode JSON lines and map them to rows; undecodable or ill-typed lines are failures."""
    staged: list[StagedRow] = []
    failed: list[FailedRow] = []
    for number, raw in lines:
        try:
            data = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            failed.append(FailedRow(number, raw.decode("utf-8", "replace").rstrip(), str(exc)))
            continue
        if not isinstance(data, dict):
            failed.append(FailedRow(number, data, "line is not a JSON object"))
            continue
        try:
            staged.append(StagedRow(number, data, queries.to_record(columns, data)))
        except queries.RowValueError as exc:
            failed.append(FailedRow(number, data, str(exc)))
    return staged, failed


ChunkCallback = Callable[[LoadResult], Awaitable[None]]
"""Called after each committed chunk with the running totals of the file (progress)."""


async def load_file(
    pool: asyncpg.Pool,
    path: Path,
    record_type: RecordType,
    chunk_size: int,
    *,
    collected_at: datetime | None = None,
    on_chunk: ChunkCallback | None = None,
) -> LoadResult:
    """Load a processed JSON Lines file chunk by chunk; return the counts and the failed rows.

    Committed chunks stay committed if a later one fails; running the load again is harmless
    (unchanged rows are not touched). ``collected_at`` is written to every inserted or changed
    row; ``on_chunk`` is awaited after each chunk with the running totals.

    Raises:
        OSError: the file cannot be opened (``FileNotFoundError`` when it is missing).
    """
    sql = queries.table_sql(record_type)
    reader = await asyncio.to_thread(LineReader, path)
    total = LoadResult()
    try:
        while lines := await asyncio.to_thread(reader.read, chunk_size):
            total.add(await load_lines(pool, sql, lines, collected_at))
            log.debug("import.chunk_loaded", chunk=total.chunks, rows=len(lines))
            if on_chunk is not None:
                await on_chunk(total)
    finally:
        await asyncio.to_thread(reader.close)
    total.failed.sort(key=lambda f: f.line)
    return total


async def load_lines(
    pool: asyncpg.Pool,
    sql: queries.TableSql,
    lines: list[tuple[int, bytes]],
    collected_at: datetime | None = None,
) -> LoadResult:
    """Parse and upsert one chunk of numbered lines; the result counts it as one chunk."""
    staged, failed = parse_lines(sql.columns, lines)
    result = await load_chunk(pool, sql, staged, collected_at)
    result.failed[:0] = failed
    result.rows_total, result.chunks = len(lines), 1
    return result


async def load_chunk(
    pool: asyncpg.Pool,
    sql: queries.TableSql,
    rows: list[StagedRow],
    collected_at: datetime | None = None,
) -> LoadResult:
    """Upsert ``rows`` in one transaction; on a data error, split and retry each half."""
    if not rows:
        return LoadResult()
    try:
        counts: tuple[int, int] = await retry.for_db()(_upsert_once, pool, sql, rows, collected_at)
    except RowsRefusedError as exc:
        if len(rows) == 1:
            log.warning("import.row_refused", line=rows[0].line, error=str(exc))
            return LoadResult(failed=[FailedRow(rows[0].line, rows[0].data, str(exc))])
        log.info("import.chunk_split", rows=len(rows), error=str(exc))
        middle = len(rows) // 2
        result = await load_chunk(pool, sql, rows[:middle], collected_at)
        result.add(await load_chunk(pool, sql, rows[middle:], collected_at))
        return result
    inserted, updated = counts
    return LoadResult(inserted=inserted, updated=updated, unchanged=len(rows) - inserted - updated)


async def _upsert_once(
    pool: asyncpg.Pool,
    sql: queries.TableSql,
    rows: list[StagedRow],
    collected_at: datetime | None,
) -> tuple[int, int]:
    """Stage and upsert ``rows`` in one transaction; return (inserted, updated)."""
    try:
        async with pool.acquire() as conn, conn.transaction():
            await conn.execute(sql.create_stage)
            await conn.copy_records_to_table(
                sql.stage, records=[row.values for row in rows], columns=list(sql.columns)
            )
            flags = await conn.fetch(sql.upsert, collected_at)
    except DATA_ERRORS as exc:
        raise RowsRefusedError(str(exc)) from exc
    inserted = sum(1 for flag in flags if flag["inserted"])
    return inserted, len(flags) - inserted
