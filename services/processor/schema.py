"""The processor's own tables (known-listings index, geocode cache), in ``migrations/``."""

from __future__ import annotations

from pathlib import Path

import asyncpg

from shared.db import apply_migrations

MIGRATIONS = Path(__file__).parent / "migrations"


async def migrate(conn: asyncpg.Connection) -> list[str]:
    """Apply the processor's pending migrations; return the versions applied (idempotent)."""
    return await apply_migrations(conn, "processor", MIGRATIONS)
