"""Chunked loading of one processed JSON Lines file: stream, stage, upsert, isolate bad rows.

Each chunk is one transaction, retried on transient database errors with the ``for_db`` policy:
the chunk's keys are probed, the rows with a new key are COPYed straight into the table, and the
others are COPYed into the staging table and moved by one upsert. A chunk the database refuses
for its data is split in halves until the refused rows are isolated; the others are loaded. The
file is read and parsed in a worker thread, the next chunk while PostgreSQL writes this one, so
memory stays bounded by two chunks.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from operator import itemgetter
from pathlib import Path
from typing import IO, Any

import asyncpg
import asyncpg.exceptions._base as asyncpg_base
import orjson
import structlog

from services.importer import observations, queries
from shared import retry
from shared.events import RecordType
from shared.faults import crash_point

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
    """One processed line ready to COPY: its 1-based line number, JSON object and values.

    ``values`` follow ``TableSql.copy_columns``: the processed columns, then ``collected_at``.
    """

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
    columns: tuple[str, ...],
    lines: list[tuple[int, bytes]],
    collected_at: datetime | None = None,
) -> tuple[list[StagedRow], list[FailedRow]]:
    """Decode JSON lines and map them to rows; undecodable or ill-typed lines are failures.

    Each row's values are ``columns`` then ``collected_at`` (the file's, the same for each row).
    """
    tail = (collected_at,)
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
            staged.append(StagedRow(number, data, queries.to_record(columns, data) + tail))
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

    def next_chunk() -> asyncio.Future[ParsedChunk]:
        return asyncio.ensure_future(
            asyncio.to_thread(read_chunk, reader, sql.columns, chunk_size, collected_at)
        )

    # The next chunk is read and parsed in a worker thread while PostgreSQL writes this one.
    upcoming = next_chunk()
    # After a chunk without a new key (a file seen before) the next one skips the key probe and
    # goes to the upsert whole; a chunk that inserts turns the probe back on.
    probe = True
    try:
        while (chunk := await asyncio.shield(upcoming)).lines:
            upcoming = next_chunk()
            result = await load_parsed(pool, sql, chunk, probe=probe)
            probe = result.inserted > 0
            total.add(result)
            crash_point("importer.chunk_committed")
            log.debug("import.chunk_loaded", chunk=total.chunks, rows=chunk.lines)
            if on_chunk is not None:
                await on_chunk(total)
    finally:
        await asyncio.wait({upcoming})  # the worker thread must be done with the file first
        if not upcoming.cancelled():
            upcoming.exception()  # mark it retrieved: the error that stopped the load is raised
        await asyncio.to_thread(reader.close)
    total.failed.sort(key=lambda f: f.line)
    return total


@dataclass(frozen=True)
class ParsedChunk:
    """One chunk of a file: how many lines it had, the rows to load and the lines that failed."""

    lines: int
    staged: list[StagedRow]
    failed: list[FailedRow]


def parse_chunk(
    columns: tuple[str, ...], lines: list[tuple[int, bytes]], collected_at: datetime | None
) -> ParsedChunk:
    """Parse numbered lines into one chunk."""
    staged, failed = parse_lines(columns, lines, collected_at)
    return ParsedChunk(len(lines), staged, failed)


def read_chunk(
    reader: LineReader, columns: tuple[str, ...], size: int, collected_at: datetime | None
) -> ParsedChunk:
    """Read and parse the next ``size`` lines (blocking: call it through ``asyncio.to_thread``)."""
    return parse_chunk(columns, reader.read(size), collected_at)


async def load_lines(
    pool: asyncpg.Pool,
    sql: queries.TableSql,
    lines: list[tuple[int, bytes]],
    collected_at: datetime | None = None,
) -> LoadResult:
    """Parse and upsert one chunk of numbered lines; the result counts it as one chunk."""
    return await load_parsed(pool, sql, parse_chunk(sql.columns, lines, collected_at))


async def load_parsed(
    pool: asyncpg.Pool, sql: queries.TableSql, chunk: ParsedChunk, *, probe: bool = True
) -> LoadResult:
    """Upsert one parsed chunk; the result counts it as one chunk, its failed lines included."""
    result = await load_chunk(pool, sql, chunk.staged, probe=probe)
    result.failed[:0] = chunk.failed
    result.rows_total, result.chunks = chunk.lines, 1
    return result


async def load_chunk(
    pool: asyncpg.Pool, sql: queries.TableSql, rows: list[StagedRow], *, probe: bool = True
) -> LoadResult:
    """Upsert ``rows`` in one transaction; on a data error, split and retry each half.

    With ``probe``, the keys are looked up first and the new ones COPYed straight into the
    table (see ``_write_once``); without, every row goes through the upsert. Both give the
    same rows, counts and history.
    """
    if not rows:
        return LoadResult()
    try:
        counts: tuple[int, int] = await retry.for_db()(_write_chunk, pool, sql, rows, probe)
    except RowsRefusedError as exc:
        if len(rows) == 1:
            log.warning("import.row_refused", line=rows[0].line, error=str(exc))
            return LoadResult(failed=[FailedRow(rows[0].line, rows[0].data, str(exc))])
        log.info("import.chunk_split", rows=len(rows), error=str(exc))
        middle = len(rows) // 2
        result = await load_chunk(pool, sql, rows[:middle], probe=probe)
        result.add(await load_chunk(pool, sql, rows[middle:], probe=probe))
        return result
    inserted, updated = counts
    return LoadResult(inserted=inserted, updated=updated, unchanged=len(rows) - inserted - updated)


class KeyTakenError(Exception):
    """A natural key found new was inserted meanwhile by a concurrent import (direct COPY)."""


def split_new(
    sql: queries.TableSql, rows: list[StagedRow], known: set[str]
) -> tuple[list[StagedRow], list[StagedRow]]:
    """Split ``rows`` into (new, others): new rows have a key absent from ``known`` and unique.

    A new row can go straight into the table; a key seen twice in the chunk goes through the
    upsert, which keeps its last occurrence.
    """
    index = sql.key_index
    seen = Counter(row.values[index] for row in rows)
    new: list[StagedRow] = []
    others: list[StagedRow] = []
    for row in rows:
        key = row.values[index]
        (new if seen[key] == 1 and key not in known else others).append(row)
    return new, others


async def _write_chunk(
    pool: asyncpg.Pool, sql: queries.TableSql, rows: list[StagedRow], probe: bool
) -> tuple[int, int]:
    """Write ``rows`` in one transaction (new keys by direct COPY); return (inserted, updated).

    If a concurrent import inserts one of the new keys first, the chunk is written again, all
    through the upsert, which decides as always.
    """
    if not probe:
        return await _write_once(pool, sql, rows, direct=False)
    try:
        return await _write_once(pool, sql, rows, direct=True)
    except KeyTakenError as exc:
        log.info("import.key_taken", rows=len(rows), error=str(exc))
        return await _write_once(pool, sql, rows, direct=False)


async def _write_once(
    pool: asyncpg.Pool,
    sql: queries.TableSql,
    rows: list[StagedRow],
    *,
    direct: bool,
) -> tuple[int, int]:
    """Write ``rows`` in one transaction; return (inserted, updated).

    With ``direct``, the rows whose natural key is new (absent from the table, once in the
    chunk) are COPYed straight into the table: nothing to compare, dedupe or lock, and the
    history trigger fires on updates only. The other rows are COPYed into the staging table
    and moved by the upsert. Every row's observation is written in the same transaction.
    """
    try:
        async with pool.acquire() as conn, conn.transaction():
            new: list[StagedRow] = []
            others = rows
            if direct:
                keys = [row.values[sql.key_index] for row in rows]
                known = {r[0] for r in await conn.fetch(sql.known_keys, keys)}
                new, others = split_new(sql, rows, known)
            if new:
                # In key order, as the upsert's DISTINCT ON writes: concurrent imports of
                # overlapping files then wait for each other's keys in one order, never in a cycle.
                records = sorted((row.values for row in new), key=itemgetter(sql.key_index))
                await conn.copy_records_to_table(
                    sql.table, records=records, columns=list(sql.copy_columns)
                )
                await observations.record_new(conn, sql, new)
            crash_point("importer.mid_copy")
            if not others:
                return len(new), 0
            await conn.execute(sql.create_stage)
            await conn.copy_records_to_table(
                sql.stage, records=[row.values for row in others], columns=list(sql.copy_columns)
            )
            flags = await conn.fetch(sql.upsert)
            await observations.record_staged(conn, sql)
    except asyncpg.UniqueViolationError as exc:
        # Only a direct COPY can break the key's uniqueness (the upsert resolves conflicts),
        # and only when a concurrent import inserted the key after the probe.
        if direct:
            raise KeyTakenError(str(exc)) from exc
        raise RowsRefusedError(str(exc)) from exc
    except DATA_ERRORS as exc:
        raise RowsRefusedError(str(exc)) from exc
    inserted = sum(1 for flag in flags if flag["inserted"])
    return len(new) + inserted, len(flags) - inserted
