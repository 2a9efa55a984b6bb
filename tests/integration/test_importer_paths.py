"""The two write paths of a chunk (direct COPY of new keys, upsert of the rest) agree."""

# The shared fixtures live in test_importer.py; tests take them as parameters of the same name.
# ruff: noqa: F811

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import pytest
import structlog

from services.importer import loader, queries
from shared.events import RecordType
from shared.storage import DataDir
from tests.integration.test_importer import (  # noqa: F401 - fixtures
    DAY,
    migrated_url,
    pool,
    vehicle_line,
    write_jsonl,
)
from tests.polling import eventually

pytestmark = [pytest.mark.postgres]

CHUNK = 50
COLLECTED = datetime(2026, 11, 29, 7, 30, tzinfo=UTC)
SQL = queries.table_sql(RecordType.VEHICLES)
ROW_COLUMNS = ", ".join(c for c in SQL.copy_columns if c != "data_hash")
HISTORY_COLUMNS = "data_hash, field, old_value, new_value, old_batch_id, batch_id"


def scenario(data_dir: DataDir) -> list[Path]:
    """Write two files: a first-seen batch, then a re-seen one mixing every kind of row.

    First file: 149 new listings in three chunks of 50 lines, the last one holding a key twice
    (the occurrence with the higher ``record_position`` must win). Second file: a chunk of
    unchanged rows (after which the loader stops probing), a chunk of changed prices and
    descriptions plus new listings, and a chunk of new listings with a duplicate and one
    listing repeated from the first file, unchanged.
    """
    first = [vehicle_line(i) for i in range(150)]
    first[140] = vehicle_line(141, record_position=500)  # key 141 twice: position 500 wins
    second = [vehicle_line(i, batch_id="batch-2") for i in range(50)]
    second += [
        vehicle_line(i, price=40_000 + i, batch_id="batch-2")
        if i % 3 == 0
        else {**vehicle_line(i, batch_id="batch-2"), "description": f"Repainted {i}"}
        if i % 3 == 1
        else vehicle_line(i + 1000, batch_id="batch-2")
        for i in range(50, 100)
    ]
    second += [vehicle_line(i, batch_id="batch-2") for i in range(200, 248)]
    second += [vehicle_line(200, record_position=999, batch_id="batch-2"), vehicle_line(120)]
    return [
        data_dir.root / write_jsonl(data_dir, f"processed/{DAY}/vehicles/{name}", lines)
        for name, lines in (("p_001.jsonl", first), ("p_002.jsonl", second))
    ]


async def load_with(pool: asyncpg.Pool, path: Path, probe: bool | None) -> loader.LoadResult:
    """Load a file with the loader (``probe`` None) or with every chunk forced down one path."""
    if probe is None:
        return await loader.load_file(
            pool, path, RecordType.VEHICLES, CHUNK, collected_at=COLLECTED
        )
    reader = loader.LineReader(path)
    total = loader.LoadResult()
    try:
        while (chunk := loader.read_chunk(reader, SQL.columns, CHUNK, COLLECTED)).lines:
            total.add(await loader.load_parsed(pool, SQL, chunk, probe=probe))
    finally:
        reader.close()
    return total


async def outcome(pool: asyncpg.Pool) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Return every row's data, lineage and timestamp relations, and the history, by key."""
    rows = await pool.fetch(
        f"SELECT data_hash, {ROW_COLUMNS}, search_vector::text AS search_vector, "
        "updated_at = created_at AS never_updated, imported_at = updated_at AS stamped "
        "FROM vehicles ORDER BY data_hash"
    )
    history = await pool.fetch(
        f"SELECT {HISTORY_COLUMNS}, valid_from < changed_at AS ordered FROM field_history "
        "ORDER BY data_hash, field"
    )
    return [dict(r) for r in rows], [dict(r) for r in history]


async def test_direct_copy_and_upsert_give_the_same_rows_counts_and_history(
    pool: asyncpg.Pool, data_dir: DataDir
) -> None:
    """First-seen and re-seen chunks: the loader, probe-always and upsert-only agree exactly."""
    paths = scenario(data_dir)
    results: dict[bool | None, Any] = {}
    for probe in (None, True, False):
        await pool.execute("TRUNCATE vehicles, field_history RESTART IDENTITY")
        counts = []
        for path in paths:
            result = await load_with(pool, path, probe)
            counts.append((result.inserted, result.updated, result.unchanged, len(result.failed)))
        results[probe] = (counts, *await outcome(pool))
    counts, rows, history = results[False]  # the upsert alone: the reference
    assert counts == [(149, 0, 1, 0), (65, 33, 2 + 50, 0)]
    assert len(rows) == 149 + 65
    assert len(history) == 33
    assert results[None] == results[False]
    assert results[True] == results[False]
    by_key = {row["data_hash"]: row for row in rows}
    assert by_key[vehicle_line(200)["data_hash"]]["record_position"] == 999  # the later one
    assert by_key[vehicle_line(141)["data_hash"]]["record_position"] == 500
    assert all(row["collected_at"] == COLLECTED for row in rows)


async def test_a_key_inserted_concurrently_after_the_probe_falls_back_to_the_upsert(
    pool: asyncpg.Pool, data_dir: DataDir
) -> None:
    """A key another import commits between the probe and the COPY is not refused: upserted."""
    lines = [vehicle_line(i) for i in range(10)]
    path = data_dir.root / write_jsonl(data_dir, f"processed/{DAY}/vehicles/race.jsonl", lines)
    other = await pool.acquire()
    try:
        transaction = other.transaction()
        await transaction.start()
        await other.copy_records_to_table(  # the other import's uncommitted row: invisible
            "vehicles",
            records=[queries.to_record(SQL.columns, lines[4])],
            columns=list(SQL.columns),
        )
        with structlog.testing.capture_logs() as logs:
            load = asyncio.ensure_future(loader.load_file(pool, path, RecordType.VEHICLES, CHUNK))
            await eventually(  # our direct COPY waits on the other transaction's key
                lambda: pool.fetchval(
                    "SELECT count(*) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND wait_event_type = 'Lock'"
                )
            )
            await transaction.commit()
            result = await load
    finally:
        await pool.release(other)
    assert [e["event"] for e in logs if e["event"] == "import.key_taken"] == ["import.key_taken"]
    assert (result.inserted, result.updated, result.unchanged, result.failed) == (9, 0, 1, [])
    assert await pool.fetchval("SELECT count(*) FROM vehicles") == 10
