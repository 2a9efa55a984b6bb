"""Migration 002: an index filled under the old blocking keys is re-keyed before linking resumes."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from services.processor import schema
from services.processor.dedup.keys import (
    DESCRIPTION_CHARS,
    KNOWN_COLUMNS,
    VehicleKey,
    evidence_rows,
    from_row,
    text,
    vehicle_id,
)
from services.processor.dedup.linker import Linker
from services.processor.quality.generator import ListingGenerator
from shared import db
from shared.events import RecordType
from shared.records import Vehicle
from tests.conftest import ADMIN_DSN, dsn_for, unique

pytestmark = [pytest.mark.postgres]


@pytest.fixture
async def old_index(tmp_path: Path) -> AsyncIterator[str]:
    """Return a throw-away database holding the processor's schema as of migration 001."""
    name = unique("proc_backfill_")
    admin = await asyncpg.connect(ADMIN_DSN)
    await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.close()
    first = tmp_path / "migrations"
    first.mkdir()
    shutil.copy(schema.MIGRATIONS / "001_known_index.sql", first)
    conn = await asyncpg.connect(dsn_for(name))
    try:
        await db.apply_migrations(conn, "processor", first)
    finally:
        await conn.close()
    yield dsn_for(name)
    admin = await asyncpg.connect(ADMIN_DSN)
    await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await admin.close()


def _rows(n: int, seed: int) -> list[dict[str, Any]]:
    rows: dict[str, dict[str, Any]] = {}
    for listing in ListingGenerator(seed).listings(n):
        try:
            row = Vehicle.model_validate(listing.record).to_row()
        except ValueError:
            continue
        rows.setdefault(row["data_hash"], row)
    return list(rows.values())


def _entries(keys: list[VehicleKey]) -> list[tuple[int, int, int, int]]:
    """Return the evidence rows of these vehicles, as the processor stores them."""
    return [entry for key in keys for entry in evidence_rows(key)]


async def test_backfill_rekeys_the_known_vehicles_once(old_index: str) -> None:
    """Every known vehicle gets its evidence keys and a sorted description; then nothing to do."""
    rows = _rows(1200, seed=3)
    known = [from_row(row) for row in rows]
    as_written = [text(row["description"])[:DESCRIPTION_CHARS] for row in rows]  # version 001
    conn = await asyncpg.connect(old_index)
    try:
        columns = (*KNOWN_COLUMNS, "canonical_hash")
        records = [
            (*key._replace(description=description).record(), key.data_hash)
            for key, description in zip(known, as_written, strict=True)
        ]
        await conn.copy_records_to_table(
            "processor_known_vehicles", records=records, columns=columns
        )
        assert await schema.migrate(conn) == ["002_evidence_blocks"]
        query = "SELECT block_key, year, vehicle_id, desc_len FROM processor_vehicle_evidence"
        stored = set(map(tuple, await conn.fetch(query)))
        descriptions = dict(
            await conn.fetch("SELECT data_hash, description FROM processor_known_vehicles")
        )
        ids = dict(await conn.fetch("SELECT data_hash, vehicle_id FROM processor_known_vehicles"))
        assert await conn.fetchval("SELECT count(*) FROM processor_backfills") == 0
        assert await schema.migrate(conn) == []
        assert await schema.backfill_evidence(conn) == 0
    finally:
        await conn.close()
    assert ids == {key.data_hash: vehicle_id(key.data_hash) for key in known}
    assert stored == set(_entries(known))
    assert descriptions == {key.data_hash: key.description for key in known}
    assert any(key.description != old for key, old in zip(known, as_written, strict=True))


async def test_a_backfill_cut_short_is_finished_at_the_next_start(old_index: str) -> None:
    """Batches commit one by one; a start after a crash completes the rest, nothing twice."""
    known = [from_row(row) for row in _rows(600, seed=4)]
    conn = await asyncpg.connect(old_index)
    try:
        records = [(*key.record(), key.data_hash) for key in known]
        await conn.copy_records_to_table(
            "processor_known_vehicles", records=records, columns=(*KNOWN_COLUMNS, "canonical_hash")
        )
        await db.apply_migrations(conn, "processor", schema.MIGRATIONS)  # SQL only: no backfill
        first = sorted(known, key=lambda key: key.data_hash)[:100]
        await conn.executemany(  # what a first, interrupted run had committed
            "INSERT INTO processor_vehicle_evidence VALUES ($1, $2, $3, $4)", _entries(first)
        )
        assert await schema.backfill_evidence(conn, batch=128) == len(known)
        count = await conn.fetchval("SELECT count(*) FROM processor_vehicle_evidence")
    finally:
        await conn.close()
    assert count == len(_entries(known))


async def test_after_the_backfill_a_copy_of_a_known_car_links(old_index: str) -> None:
    """The re-keyed index finds the car: the linker sees the old rows through the new keys."""
    base = {
        "make": "Chevrolet", "model": "Chevelle SS", "year": 1970, "price": "45000.00",
        "location_city": "Tulsa", "location_state": "OK",
        "description": "Red Chevelle SS, numbers matching 454, frame-off restoration",
        "image_url": None, "source_name": "site-a", "stock_number": "A-1",
        "source_url": "https://site-a.example.com/listing/1",
    }  # fmt: skip
    original = from_row({**base, "data_hash": "a" * 64})
    conn = await asyncpg.connect(old_index)
    try:
        await conn.copy_records_to_table(
            "processor_known_vehicles",
            records=[(*original.record(), original.data_hash)],
            columns=(*KNOWN_COLUMNS, "canonical_hash"),
        )
        await schema.migrate(conn)
    finally:
        await conn.close()
    copy = {
        **base, "data_hash": "b" * 64, "source_name": "site-b", "stock_number": "B-9",
        "description": "Red Chevelle SS, numbers matching 454, frame-off restoraton",
        "source_url": "https://site-b.example.com/l/9", "enrichment": {},
    }  # fmt: skip
    pool = await asyncpg.create_pool(old_index, min_size=1, max_size=1)
    try:
        stats = await Linker(pool).link(RecordType.VEHICLES, [copy])
    finally:
        await pool.close()
    assert stats.near == 1
    assert copy["canonical_hash"] == "a" * 64
    assert "description" in copy["match_fields"]
