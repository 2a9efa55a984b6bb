"""The bare baseline: the same valid rows COPYed by one asyncpg connection into fresh tables.

The rows are read from the pipeline's own table (untimed), so the baseline loads exactly what the
pipeline loaded; the target is a second fresh database with the importer's migrations, so the
tables, constraints, generated search vectors and indexes are the same. Only the COPY is timed,
and its CPU is read on both sides (its backend's from ``/proc``, this process's own), so a run can
say how much more CPU a row costs through the pipeline than through a bare COPY.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import asyncpg

from bench.e2e.cpu import process_cpu_s
from bench.e2e.stack import REPO, create_database, drop_database
from services.importer.queries import quote
from shared.db import apply_migrations
from shared.events import RecordType
from shared.records import processed_columns


@dataclass(frozen=True)
class BaselineResult:
    """Rows COPYed, how long the COPY took, and the CPU it used (its backend, this client)."""

    rows: int
    seconds: float
    backend_cpu_s: float = 0.0
    client_cpu_s: float = 0.0

    @property
    def cpu_s(self) -> float:
        """Return the CPU seconds of the COPY on both sides of the connection."""
        return self.backend_cpu_s + self.client_cpu_s

    @property
    def rate(self) -> float:
        """Return rows per second."""
        return self.rows / self.seconds if self.seconds else 0.0


async def fetch_rows(dsn: str, record_type: RecordType) -> list[tuple[object, ...]]:
    """Return the loaded rows of a table as tuples in ``processed_columns`` order."""
    columns = processed_columns(record_type)
    conn = await asyncpg.connect(dsn)
    try:
        cols = ", ".join(quote(c) for c in columns)
        rows = await conn.fetch(f"SELECT {cols} FROM {quote(record_type.value)}")
    finally:
        await conn.close()
    return [tuple(row) for row in rows]


async def bare_copy(
    rows: list[tuple[object, ...]],
    record_type: RecordType = RecordType.VEHICLES,
    source: Path = REPO,
) -> BaselineResult:
    """COPY ``rows`` into a freshly migrated database in one transaction; time only the COPY.

    The migrations are the importer's, from ``source`` (the code the pipeline ran).
    """
    name, dsn = await create_database("pipeline_baseline_")
    try:
        conn = await asyncpg.connect(dsn)
        try:
            await apply_migrations(conn, "importer", source / "services/importer/migrations")
            backend = conn.get_server_pid()  # PostgreSQL runs on this host (as the stack's)
            backend_before, client_before = process_cpu_s(backend) or 0.0, time.process_time()
            started = time.perf_counter()
            async with conn.transaction():
                await conn.copy_records_to_table(
                    record_type.value,
                    records=rows,
                    columns=list(processed_columns(record_type)),
                )
            seconds = time.perf_counter() - started
            client_cpu = time.process_time() - client_before
            backend_cpu = (process_cpu_s(backend) or backend_before) - backend_before
            loaded = await conn.fetchval(f"SELECT count(*) FROM {quote(record_type.value)}")
        finally:
            await conn.close()
    finally:
        await drop_database(name)
    return BaselineResult(int(loaded), seconds, backend_cpu, client_cpu)
