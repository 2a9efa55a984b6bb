"""Migration 004: a database written with the old vocabulary takes the seed's, in place."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from services.importer import schema
from shared.db import apply_migrations
from tests.conftest import ADMIN_DSN, dsn_for, unique

pytestmark = [pytest.mark.postgres]

OLD = [  # category, condition, region as the tables held them before the seed's vocabulary
    ("classic", "concours", "west"),
    ("muscle", "excellent", "South"),
    ("sports", "very_good", "MIDWEST"),
    ("exotic", "good", "Southwest"),
    ("antique", "fair", None),
    ("hot_rod", "project", "Northeast"),
    ("truck", None, "Oceania"),
    ("luxury", "good", "europe"),
    ("other", "fair", "Asia"),
    (None, None, None),
]
NEW = [
    ("Classic Cars", "Excellent", "West"),
    ("Muscle Cars", "Excellent", "South"),
    ("Sports Cars", "Very Good", "Midwest"),
    ("Sports Cars", "Good", "Southwest"),
    ("Classic Cars", "Fair", None),
    ("Hot Rods", "Project", "Northeast"),
    ("Trucks", None, "Oceania"),
    ("Luxury Cars", "Good", "Europe"),
    (None, "Fair", "Asia"),
    (None, None, None),
]


@pytest.fixture
async def old_database(tmp_path: Path) -> AsyncIterator[asyncpg.Connection]:
    """Return a connection to a new database with the importer's migrations 001-003 only."""
    name = unique("importer_seed_")
    admin = await asyncpg.connect(ADMIN_DSN)
    await admin.execute(f'CREATE DATABASE "{name}"')
    conn = await asyncpg.connect(dsn_for(name))
    try:
        before = tmp_path / "migrations"
        before.mkdir()
        for path in sorted(schema.MIGRATIONS.glob("00[1-3]_*.sql")):
            shutil.copy(path, before / path.name)
        await apply_migrations(conn, schema.COMPONENT, before)
        yield conn
    finally:
        await conn.close()
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def test_old_rows_take_the_seeds_spelling_and_none_is_lost(
    old_database: asyncpg.Connection,
) -> None:
    """Every row stays; categories, conditions and regions read as the seed spells them."""
    conn = old_database
    for index, (category, condition, region) in enumerate(OLD):
        await conn.execute(
            "INSERT INTO vehicles (source_name, make, model, year, price, category, condition,"
            " location_region, data_hash) VALUES ('dealer', 'Ford', 'Mustang', 1967, 45000,"
            " $1, $2, $3, $4)",
            category,
            condition,
            region,
            f"{index:064x}",
        )
    await conn.execute("UPDATE vehicles SET price = 46000 WHERE data_hash = $1", f"{0:064x}")
    history_before = await conn.fetchval("SELECT count(*) FROM field_history")

    assert (await schema.migrate(conn))[0] == "004_seed_vocabulary"  # and any later ones

    rows = await conn.fetch(
        "SELECT category, condition, location_region FROM vehicles ORDER BY data_hash"
    )
    assert [tuple(row) for row in rows] == NEW
    assert await conn.fetchval("SELECT count(*) FROM field_history") == history_before
    assert await conn.fetchval("SELECT count(*) FROM vehicle_price_history") == 1
    found = await conn.fetchval(
        "SELECT count(*) FROM vehicles WHERE search_vector @@ plainto_tsquery('english', $1)",
        "muscle cars",
    )
    assert found == 1  # the category is searchable


async def test_the_new_columns_take_what_the_seed_allows(old_database: asyncpg.Connection) -> None:
    """A price-less listing, a 100-character make, a long URL load; old spellings are refused."""
    conn = old_database
    await schema.migrate(conn)
    await conn.execute(
        "INSERT INTO vehicles (source_name, make, model, year, source_url, category, condition,"
        " location_region, data_hash) VALUES ('dealer', $1, 'X', 1970, $2, 'Restomods',"
        " 'Very Good', 'Midwest', $3)",
        "M" * 100,
        "https://dealer.example.com/" + "x" * 5000,
        "a" * 64,
    )
    assert await conn.fetchval("SELECT price FROM vehicles") is None
    with pytest.raises(asyncpg.CheckViolationError):
        await conn.execute(
            "INSERT INTO vehicles (source_name, make, model, year, category, data_hash)"
            " VALUES ('dealer', 'Ford', 'Mustang', 1967, 'muscle', $1)",
            "b" * 64,
        )
    with pytest.raises(asyncpg.CheckViolationError):
        await conn.execute(
            "INSERT INTO vehicles (source_name, make, model, year, location_region, data_hash)"
            " VALUES ('dealer', 'Ford', 'Mustang', 1967, 'Southwest', $1)",
            "c" * 64,
        )
