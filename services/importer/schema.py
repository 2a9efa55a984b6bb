"""The importer's tables (vehicles, events, articles, import_batches): SQL files in ``migrations/``.

The importer owns the data schema. Migrations are applied through ``shared.db.apply_migrations``,
which holds an advisory lock, so several importers (and the CLI) can run them at the same time.
"""

from __future__ import annotations

from pathlib import Path

import asyncpg

from shared.db import apply_migrations

COMPONENT = "importer"
MIGRATIONS = Path(__file__).parent / "migrations"


async def migrate(conn: asyncpg.Connection) -> list[str]:
    """Apply the importer's pending migrations; return the versions applied (idempotent)."""
    return await apply_migrations(conn, COMPONENT, MIGRATIONS)
