"""Observations: that a listing was seen in a batch, at which price and when, changed or not.

The importer writes one ``vehicle_observations`` row per listing of a chunk, in the chunk's
transaction, so an observation exists exactly when its row's write committed. The key
``(data_hash, batch_id)`` with ``ON CONFLICT DO NOTHING`` makes a redelivery, a re-drop or a
reprocessing of the same batch add nothing: the first observation of a listing in a batch is
the one kept. When a listing was seen is when its raw file was collected (the collector's
``meta.json``), else when it was processed, else when it is imported.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import asyncpg

from shared.events import RecordType

if TYPE_CHECKING:
    from services.importer.loader import StagedRow
    from services.importer.queries import TableSql

OBSERVED_TYPES = frozenset({RecordType.VEHICLES.value})
"""The tables whose listings are observed (only vehicles are cars)."""

RECORD_SQL = """
INSERT INTO vehicle_observations (data_hash, batch_id, observed_at, price, source_name)
SELECT o.data_hash, coalesce(o.batch_id, ''), coalesce(o.collected_at, o.processed_at, now()),
       o.price, o.source_name
FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::timestamptz[], $5::numeric[],
            $6::text[]) AS o(data_hash, batch_id, collected_at, processed_at, price, source_name)
ON CONFLICT (data_hash, batch_id) DO NOTHING
"""
_FIELDS = ("data_hash", "batch_id", "collected_at", "processed_at", "price", "source_name")


def arrays(copy_columns: Sequence[str], rows: Sequence[StagedRow]) -> list[list[Any]]:
    """Return the columns of the observations of ``rows``, one list per ``RECORD_SQL`` parameter.

    A key twice in the rows is observed once, with its last occurrence (as the upsert keeps it).
    Rows go in key order, as the table writes do: concurrent imports of overlapping files then
    wait for each other's keys in one order, never in a cycle.
    """
    indexes = [copy_columns.index(name) for name in _FIELDS]
    key = indexes[0]
    latest = {row.values[key]: row.values for row in rows}
    columns: list[list[Any]] = [[] for _ in _FIELDS]
    for data_hash in sorted(latest):
        values = latest[data_hash]
        for column, index in zip(columns, indexes, strict=True):
            column.append(values[index])
    return columns


async def record(conn: asyncpg.Connection, sql: TableSql, rows: Sequence[StagedRow]) -> None:
    """Write the observations of ``rows`` (vehicles only) on ``conn``, in its transaction."""
    if sql.table not in OBSERVED_TYPES or not rows:
        return
    await conn.execute(RECORD_SQL, *arrays(sql.copy_columns, rows))
