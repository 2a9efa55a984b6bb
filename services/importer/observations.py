"""Observations: that a listing was seen in a batch, at which price and when, changed or not.

The importer writes one ``vehicle_observations`` row per listing of a chunk, in the chunk's
transaction, so an observation exists exactly when its row's write committed: the rows with a
new key are COPYed (like their listings), the others are moved from the staging table by one
``INSERT ... SELECT ... ON CONFLICT (data_hash, batch_id) DO NOTHING``. That key makes a
redelivery, a re-drop or a reprocessing of the same batch add nothing: the first observation of
a listing in a batch is the one kept. A COPY that meets an observation already there (a listing
deleted by hand, then loaded again) fails on the key like its listing would, and the chunk is
written again through the staging table. When a listing was seen is when its raw file was
collected (the collector's ``meta.json``), else when it was processed, else when it is imported.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from functools import cache
from typing import TYPE_CHECKING, Any

import asyncpg

from shared.events import RecordType

if TYPE_CHECKING:
    from services.importer.loader import StagedRow
    from services.importer.queries import TableSql

TABLE = "vehicle_observations"
OBSERVED_TYPES = frozenset({RecordType.VEHICLES.value})
"""The tables whose listings are observed (only vehicles are cars)."""
COLUMNS = ("data_hash", "batch_id", "observed_at", "price", "source_name")
_SOURCES = ("data_hash", "batch_id", "collected_at", "processed_at", "price", "source_name")


@cache
def from_stage_sql(stage: str) -> str:
    """Return the statement that observes the staged rows (the last occurrence of a key wins)."""
    return (
        f"INSERT INTO {TABLE} ({', '.join(COLUMNS)}) "
        "SELECT DISTINCT ON (data_hash) data_hash, coalesce(batch_id, ''), "
        "coalesce(collected_at, processed_at, now()), price, source_name "
        f'FROM "{stage}" ORDER BY data_hash, record_position DESC NULLS LAST '
        "ON CONFLICT (data_hash, batch_id) DO NOTHING"
    )


def records(
    copy_columns: Sequence[str], rows: Sequence[StagedRow], now: datetime
) -> list[tuple[Any, ...]]:
    """Return the observations of rows with new, distinct keys, in key order, ready to COPY."""
    key, batch, collected, processed, price, source = (copy_columns.index(c) for c in _SOURCES)
    out = [
        (v[key], v[batch] or "", v[collected] or v[processed] or now, v[price], v[source])
        for v in (row.values for row in rows)
    ]
    out.sort()
    return out


async def record_new(conn: asyncpg.Connection, sql: TableSql, rows: Sequence[StagedRow]) -> None:
    """COPY the observations of ``rows`` (new keys, each once) on ``conn``, in its transaction."""
    if sql.table in OBSERVED_TYPES and rows:
        now = datetime.now(UTC)
        await conn.copy_records_to_table(
            TABLE, records=records(sql.copy_columns, rows, now), columns=list(COLUMNS)
        )


async def record_staged(conn: asyncpg.Connection, sql: TableSql) -> None:
    """Observe the rows of the staging table on ``conn``, in its transaction."""
    if sql.table in OBSERVED_TYPES:
        await conn.execute(from_stage_sql(sql.stage))
