"""The monitor's own tables: versioned SQL files in ``migrations/``, applied through shared.db."""

from __future__ import annotations

from pathlib import Path

import asyncpg

from shared.db import apply_migrations

COMPONENT = "monitor"
MIGRATIONS = Path(__file__).parent / "migrations"


async def migrate(conn: asyncpg.Connection) -> list[str]:
    """Apply the monitor's pending migrations; return the versions applied (idempotent)."""
    return await apply_migrations(conn, COMPONENT, MIGRATIONS)
