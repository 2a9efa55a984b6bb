"""Migration 005: an event's place is a city or a venue, in the table as in the records' model."""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import pytest

from services.importer import schema
from shared.records import CarEvent
from tests.conftest import ADMIN_DSN, dsn_for, unique

pytestmark = [pytest.mark.postgres]

INSERT = (
    "INSERT INTO events (source_name, name, event_type, start_date, venue, city, data_hash) "
    "VALUES ('perplexity', $1, 'other', '2026-05-16', $2, $3, $4)"
)


@pytest.fixture
async def migrated() -> AsyncIterator[asyncpg.Connection]:
    """Return a connection to a new database with every importer migration applied."""
    name = unique("importer_place_")
    admin = await asyncpg.connect(ADMIN_DSN)
    await admin.execute(f'CREATE DATABASE "{name}"')
    conn = await asyncpg.connect(dsn_for(name))
    try:
        assert "005_event_place" in await schema.migrate(conn)
        yield conn
    finally:
        await conn.close()
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def test_a_venue_without_a_city_is_stored_and_no_place_is_refused(
    migrated: asyncpg.Connection,
) -> None:
    """A row with a venue and no city is stored; one with neither breaks the place check."""
    event = CarEvent.model_validate(
        {
            "name": "Cars at the Pier",
            "startDate": "2026-05-16",
            "venue": "Pier 39",
            "sourceName": "x",
        }
    )
    await migrated.execute(INSERT, event.name, event.venue, event.city, event.data_hash())
    row = await migrated.fetchrow("SELECT venue, city FROM events")
    assert tuple(row) == ("Pier 39", None)
    with pytest.raises(asyncpg.CheckViolationError, match="events_place_check"):
        await migrated.execute(INSERT, "Nowhere Meet", None, None, "f" * 64)
