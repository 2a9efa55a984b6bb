"""Migrations 002 and 003: an index filled under older keys is rebuilt before linking resumes."""

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
    EVIDENCE_COLUMNS,
    KNOWN_COLUMNS,
    EvidenceRow,
    VehicleKey,
    description_words,
    evidence,
    evidence_rows,
    from_row,
    text,
    vehicle_id,
)
from services.processor.dedup.linker import Linker
from services.processor.dedup.rarity import Rarity
from services.processor.quality.generator import ListingGenerator
from shared import db
from shared.events import RecordType
from shared.records import Vehicle
from tests.conftest import ADMIN_DSN, dsn_for, unique

pytestmark = [pytest.mark.postgres]


async def _index_at(tmp_path: Path, versions: tuple[str, ...]) -> str:
    """Return a throw-away database holding the processor's schema as of these migrations."""
    name = unique("proc_backfill_")
    admin = await asyncpg.connect(ADMIN_DSN)
    await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.close()
    folder = tmp_path / "migrations"
    folder.mkdir()
    for version in versions:
        shutil.copy(schema.MIGRATIONS / f"{version}.sql", folder)
    conn = await asyncpg.connect(dsn_for(name))
    try:
        await db.apply_migrations(conn, "processor", folder)
    finally:
        await conn.close()
    return dsn_for(name)


async def _drop(dsn: str) -> None:
    admin = await asyncpg.connect(ADMIN_DSN)
    await admin.execute(f'DROP DATABASE IF EXISTS "{dsn.rsplit("/", 1)[1]}" WITH (FORCE)')
    await admin.close()


@pytest.fixture
async def old_index(tmp_path: Path) -> AsyncIterator[str]:
    """Return a throw-away database holding the processor's schema as of migration 001."""
    dsn = await _index_at(tmp_path, ("001_known_index",))
    yield dsn
    await _drop(dsn)


@pytest.fixture
async def index_002(tmp_path: Path) -> AsyncIterator[str]:
    """Return a throw-away database as of migration 002 (evidence rows without prices)."""
    dsn = await _index_at(tmp_path, ("001_known_index", "002_evidence_blocks"))
    yield dsn
    await _drop(dsn)


def _rows(n: int, seed: int) -> list[dict[str, Any]]:
    rows: dict[str, dict[str, Any]] = {}
    for listing in ListingGenerator(seed).listings(n):
        try:
            row = Vehicle.model_validate(listing.record).to_row()
        except ValueError:
            continue
        rows.setdefault(row["data_hash"], row)
    return list(rows.values())


def _entries(keys: list[VehicleKey], batch: int = schema.BACKFILL_BATCH) -> list[EvidenceRow]:
    """Return the evidence rows of these vehicles, as the backfill stores them.

    The backfill weighs words per batch of ``batch`` vehicles in data hash order, as the linker
    weighs them per chunk (``dedup.rarity``).
    """
    ordered = sorted(keys, key=lambda key: key.data_hash)
    entries: list[EvidenceRow] = []
    for start in range(0, len(ordered), batch):
        part = ordered[start : start + batch]
        rarity = Rarity.of([description_words(key) for key in part])
        entries.extend(entry for key in part for entry in evidence_rows(key, evidence(key, rarity)))
    return entries


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
        assert await schema.migrate(conn) == [
            "002_evidence_blocks", "003_evidence_prices", "004_rare_word_keys", "005_known_words",
            "006_fact_keys",
        ]  # fmt: skip
        query = f"SELECT {', '.join(EVIDENCE_COLUMNS)} FROM processor_vehicle_evidence"
        stored = set(map(tuple, await conn.fetch(query)))
        descriptions = dict(
            await conn.fetch("SELECT data_hash, description FROM processor_known_vehicles")
        )
        ids = dict(await conn.fetch("SELECT data_hash, vehicle_id FROM processor_known_vehicles"))
        words = dict(await conn.fetch("SELECT data_hash, words FROM processor_known_vehicles"))
        assert await conn.fetchval("SELECT count(*) FROM processor_backfills") == 0
        assert await schema.migrate(conn) == []
        assert await schema.backfill_evidence(conn) == 0
    finally:
        await conn.close()
    assert ids == {key.data_hash: vehicle_id(key.data_hash) for key in known}
    assert stored == set(_entries(known))
    assert descriptions == {key.data_hash: key.description for key in known}
    assert words == {key.data_hash: sorted(description_words(key)) for key in known}
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
        first = {
            vehicle_id(key.data_hash) for key in sorted(known, key=lambda k: k.data_hash)[:100]
        }
        await conn.executemany(  # what a first, interrupted run had committed
            "INSERT INTO processor_vehicle_evidence VALUES ($1, $2, $3, $4, $5, $6)",
            [entry for entry in _entries(known, 128) if entry[2] in first],
        )
        assert await schema.backfill_evidence(conn, batch=128) == len(known)
        count = await conn.fetchval("SELECT count(*) FROM processor_vehicle_evidence")
    finally:
        await conn.close()
    assert count == len(_entries(known, 128))


async def test_migration_003_adds_each_listing_s_price_and_photo(index_002: str) -> None:
    """Rows stored without prices get the known vehicle's price and photo flag, nothing else."""
    known = [from_row(row) for row in _rows(400, seed=5)]
    assert {bool(key.image_url) for key in known} == {True, False}  # both kinds are covered
    conn = await asyncpg.connect(index_002)
    try:
        await conn.copy_records_to_table(
            "processor_known_vehicles",
            records=[(*key.record(), key.data_hash) for key in known],
            columns=(*KNOWN_COLUMNS, "canonical_hash"),
        )
        await conn.copy_records_to_table(  # as version 002 stored them
            "processor_vehicle_evidence",
            records=[entry[:4] for entry in _entries(known)],
            columns=EVIDENCE_COLUMNS[:4],
        )
        await conn.execute("DELETE FROM processor_backfills")  # 002's backfill had finished
        # 004 and 006 then rebuild the rows under the current keys, prices included.
        assert await schema.migrate(conn) == [
            "003_evidence_prices", "004_rare_word_keys", "005_known_words", "006_fact_keys",
        ]  # fmt: skip
        query = f"SELECT {', '.join(EVIDENCE_COLUMNS)} FROM processor_vehicle_evidence"
        stored = [tuple(row) for row in await conn.fetch(query)]
    finally:
        await conn.close()
    assert sorted(stored) == sorted(_entries(known))


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
