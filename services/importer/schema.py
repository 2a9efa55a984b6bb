"""The importer's tables (vehicles, events, articles, history, batches): SQL in ``migrations/``.

The importer owns the data schema. Migrations are applied through ``shared.db.apply_migrations``,
which holds an advisory lock, so several importers (and the CLI) can run them at the same time.
They run as the owner role (``MIGRATION_DATABASE_URL``); the services connect as an application
role (``DATABASE_URL``) that ``grant_app_role`` allows to read and write rows, never to change
the schema.
"""

from __future__ import annotations

import asyncpg
import structlog

from services.importer import MIGRATIONS as IMPORTER_MIGRATIONS
from services.monitor.schema import migrate as migrate_monitor
from services.processor.schema import migrate as migrate_processor
from shared.db import apply_migrations

log = structlog.get_logger(__name__)

COMPONENT = "importer"
MIGRATIONS = IMPORTER_MIGRATIONS


async def migrate(conn: asyncpg.Connection, app_role: str | None = None) -> list[str]:
    """Apply the importer's pending migrations, then grant ``app_role``; return those applied."""
    applied = await apply_migrations(conn, COMPONENT, MIGRATIONS)
    if app_role:
        await grant_app_role(conn, app_role)
    return applied


async def grant_app_role(conn: asyncpg.Connection, app_role: str) -> bool:
    """Grant DML on every table (no DDL) to ``app_role``; False when the role does not exist.

    Idempotent; run after every migration so tables added later are granted too.
    """
    granted = bool(await conn.fetchval("SELECT importer_grant_app_role($1)", app_role))
    if granted:
        log.info("schema.app_role_granted", role=app_role)
    else:
        log.warning("schema.app_role_missing", role=app_role)
    return granted


async def migrate_all(conn: asyncpg.Connection, app_role: str | None = None) -> list[str]:
    """Apply the importer's, processor's and monitor's migrations, then grant ``app_role``."""
    applied = [*await migrate(conn), *await migrate_processor(conn), *await migrate_monitor(conn)]
    if app_role:
        await grant_app_role(conn, app_role)
    return applied
