"""Before a service takes work, its tables must be migrated: by itself, or by the owner first.

A service migrates at start only when it may: ``MIGRATION_DATABASE_URL`` names the owner, or its
own role owns the schema (a superuser, the local trust server, the database owner). A service
that connects as its own least-privilege role (compose: ``pipeline_importer`` ...) never tries:
it waits until ``schema_migrations`` lists every migration its code knows (the one-shot
``pipeline migrate`` as the owner puts them there), and after ``SCHEMA_WAIT_S`` stops with one
line naming what is missing and how to apply it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path

import asyncpg
import structlog

from shared.db import connect_once, migrate_as_owner
from shared.errors import ConfigError
from shared.settings import PipelineSettings

log = structlog.get_logger(__name__)

POLL_S = 2.0

Migrate = Callable[[asyncpg.Connection], Awaitable[list[str]]]

CAN_MIGRATE_SQL = """
SELECT CASE
    WHEN to_regclass('public.schema_migrations') IS NULL
        THEN has_schema_privilege('public', 'CREATE')
    ELSE pg_has_role(
        (SELECT relowner FROM pg_class WHERE oid = to_regclass('public.schema_migrations')),
        'USAGE')
END
"""


async def can_migrate(conn: asyncpg.Connection) -> bool:
    """Return whether the connection's role owns the migrations (or may create them)."""
    return bool(await conn.fetchval(CAN_MIGRATE_SQL))


def known_versions(components: Mapping[str, Path]) -> set[tuple[str, str]]:
    """Return (component, version) of every migration file of ``components``."""
    return {
        (component, path.stem)
        for component, folder in components.items()
        for path in folder.glob("[0-9][0-9][0-9]_*.sql")
    }


async def missing_versions(conn: asyncpg.Connection, components: Mapping[str, Path]) -> list[str]:
    """Return ``component/version`` of every known migration the database has not applied."""
    wanted = known_versions(components)
    try:
        rows = await conn.fetch(
            "SELECT component, version FROM schema_migrations WHERE component = ANY($1::text[])",
            list(components),
        )
    except (asyncpg.UndefinedTableError, asyncpg.InsufficientPrivilegeError):
        rows = []  # not created yet, or not yet granted to this role
    applied = {(row["component"], row["version"]) for row in rows}
    return sorted(f"{component}/{version}" for component, version in wanted - applied)


async def wait_for_schema(
    conn: asyncpg.Connection, components: Mapping[str, Path], wait_s: float
) -> None:
    """Return once every migration of ``components`` is applied; poll up to ``wait_s``.

    Raises:
        ConfigError: still missing after ``wait_s`` (one line: what, and how to apply it).
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait_s
    while missing := await missing_versions(conn, components):
        if loop.time() >= deadline:
            role = await conn.fetchval("SELECT current_user")
            msg = (
                f"the database lacks migration(s) {', '.join(missing)}, and role {role} may not "
                "apply them: run `pipeline migrate` with the owner's DATABASE_URL "
                "(compose: the migrate service) or set MIGRATION_DATABASE_URL"
            )
            raise ConfigError(msg)
        log.info("schema.waiting_for_migrations", missing=missing)
        await asyncio.sleep(POLL_S)


async def prepare_schema(
    settings: PipelineSettings, migrate: Migrate, components: Mapping[str, Path]
) -> list[str]:
    """Migrate when this service may (owner DSN given, or its role owns the schema), else wait.

    Returns:
        The migrations applied here (none when the service only waited).
    """
    wait_s = settings.startup_wait_s  # a server not up yet is waited for (shared.retry)
    if settings.migration_database_url is not None:
        return await migrate_as_owner(settings.migration_database_url, migrate, wait_s=wait_s)
    # Its own role may not exist yet: the owner's migrate step creates it (compose).
    conn = await connect_once(settings.database_url, wait_s=wait_s, await_role=True)
    try:
        if await can_migrate(conn):
            return await migrate(conn)
        role = await conn.fetchval("SELECT current_user")
        log.info("schema.not_owner", role=role, components=sorted(components))
        await wait_for_schema(conn, components, settings.schema_wait_s)
        return []
    finally:
        await conn.close()
