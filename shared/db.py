"""PostgreSQL access: one pool per process, and versioned migrations applied under a lock.

Migrations are ``NNN_name.sql`` files in a component's folder (the importer owns the data tables,
the monitor its metrics table). They are applied in order, each in its own transaction, while
holding a PostgreSQL advisory lock, and recorded in ``schema_migrations`` with the SHA-256 of the
file; so several services starting at once apply each migration exactly once. An applied file
whose checksum changed stops the migration before anything is applied (``ConfigError`` naming the
file): the database no longer matches what the files say it is.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import structlog
from pydantic import SecretStr

from shared import retry
from shared.errors import ConfigError
from shared.logs import redact_url

log = structlog.get_logger(__name__)

MIGRATION_LOCK_KEY = 0x5049_5045  # "PIPE": one advisory lock for every migrating process
_IDENTIFIER_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")


SESSION_SETTINGS = {"jit": "off"}
"""Set on every pooled connection. The pipeline's queries are short, but the planner prices a
probe of thousands of keys above ``jit_above_cost``: JIT compiling then took ~100 ms of a ~350 ms
chunk query, every chunk, for no faster execution."""

_CONNECT_ERRORS = (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError)


def _unusable(url: str, exc: BaseException) -> ConfigError:
    return ConfigError(
        f"cannot use PostgreSQL at {redact_url(url)} ({exc.__class__.__name__}: {exc})"
    )


async def connect_once(
    dsn: SecretStr, *, wait_s: float = 0.0, await_role: bool = False
) -> asyncpg.Connection:
    """Open one connection (CLI commands, migrations); wait up to ``wait_s`` for a server that is
    not up yet (``shared.retry.for_startup``; the services pass ``STARTUP_WAIT_S``), and with
    ``await_role`` for a login role the owner has not created yet (``retry.role_not_created_yet``).

    Raises:
        ConfigError: PostgreSQL cannot be reached or refuses the credentials (one line).
    """
    url = dsn.get_secret_value()
    try:
        also = retry.role_not_created_yet if await_role else None
        async for attempt in retry.for_startup("postgresql", wait_s, also=also):
            with attempt:
                return await asyncpg.connect(url, timeout=10)
    except _CONNECT_ERRORS as exc:
        raise _unusable(url, exc) from exc
    raise AssertionError("unreachable: for_startup returns or raises")  # pragma: no cover


async def ensure_database(dsn: SecretStr) -> bool:
    """Create the DSN's database if it does not exist (via the ``postgres`` database).

    Returns:
        True if the database was created.
    """
    parts = urlsplit(dsn.get_secret_value())
    name = parts.path.lstrip("/")
    if not _IDENTIFIER_RE.match(name):
        msg = f"database name {name!r} must be letters, digits and underscores"
        raise ConfigError(msg)
    admin = await connect_once(SecretStr(urlunsplit(parts._replace(path="/postgres"))))
    try:
        if await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
            return False
        with contextlib.suppress(asyncpg.DuplicateDatabaseError):  # another process won the race
            await admin.execute(f'CREATE DATABASE "{name}"')
        return True
    finally:
        await admin.close()


@contextlib.asynccontextmanager
async def create_pool(
    dsn: SecretStr,
    *,
    min_size: int = 1,
    max_size: int = 4,
    application_name: str = "pipeline",
    wait_s: float = 0.0,
) -> AsyncIterator[asyncpg.Pool]:
    """Open a connection pool and close it on exit; wait up to ``wait_s`` for a server that is
    not up yet (``shared.retry.for_startup``).

    Its connections carry ``application_name`` (the service's name), so ``pg_stat_activity`` and
    the server's logs say which service a session belongs to.

    Raises:
        ConfigError: PostgreSQL cannot be reached or refuses the credentials (one line).
    """
    url = dsn.get_secret_value()
    pool: asyncpg.Pool | None = None
    try:
        async for attempt in retry.for_startup("postgresql", wait_s):
            with attempt:
                pool = await asyncpg.create_pool(
                    url,
                    min_size=min_size,
                    max_size=max_size,
                    command_timeout=300,
                    timeout=10,
                    server_settings={**SESSION_SETTINGS, "application_name": application_name},
                )
    except _CONNECT_ERRORS as exc:
        raise _unusable(url, exc) from exc
    assert pool is not None  # noqa: S101 - the loop above opens a pool or raises
    try:
        yield pool
    finally:
        await pool.close()


T = TypeVar("T")


async def migrate_as_owner(
    dsn: SecretStr,
    migrate: Callable[[asyncpg.Connection], Awaitable[T]],
    *,
    wait_s: float = 0.0,
) -> T:
    """Run a component's ``migrate(conn)`` on one connection of the owner role, then close it;
    wait up to ``wait_s`` for a server that is not up yet."""
    conn = await connect_once(dsn, wait_s=wait_s)
    try:
        return await migrate(conn)
    finally:
        await conn.close()


def _changed_after_apply(
    component: str, folder: Path, done: dict[str, str], checksums: dict[Path, str]
) -> ConfigError | None:
    """Return the error for applied migrations whose file changed since, or None."""
    changed = [
        path for path, checksum in checksums.items() if done.get(path.stem, checksum) != checksum
    ]
    for path in changed:
        log.error(
            "migration.changed_after_apply",
            component=component,
            file=path.name,
            applied_checksum=done[path.stem],
            file_checksum=checksums[path],
        )
    if not changed:
        return None
    names = ", ".join(str(path) for path in changed)
    return ConfigError(
        f"{component} migration(s) changed after they were applied: {names} (the checksum in "
        "schema_migrations differs); restore the applied file and put the change in a new "
        f"migration in {folder}"
    )


async def apply_migrations(conn: asyncpg.Connection, component: str, folder: Path) -> list[str]:
    """Apply the pending migrations of ``component`` from ``folder``; return the ones applied.

    Raises:
        ConfigError: an applied migration's file changed since (nothing is applied then).
    """
    files = sorted(folder.glob("[0-9][0-9][0-9]_*.sql"))  # noqa: ASYNC240 - a few small files, once
    applied: list[str] = []
    await conn.execute("SELECT pg_advisory_lock($1)", MIGRATION_LOCK_KEY)
    try:
        if not await conn.fetchval("SELECT to_regclass('schema_migrations') IS NOT NULL"):
            await conn.execute(
                """
            CREATE TABLE IF NOT EXISTS schema_migrations (
                component  text NOT NULL,
                version    text NOT NULL,
                checksum   text NOT NULL,
                applied_at timestamptz NOT NULL DEFAULT now(),
                PRIMARY KEY (component, version)
            )
            """
            )
        done = {
            row["version"]: row["checksum"]
            for row in await conn.fetch(
                "SELECT version, checksum FROM schema_migrations WHERE component = $1", component
            )
        }
        sources = {path: path.read_text() for path in files}
        checksums = {
            path: hashlib.sha256(sql.encode()).hexdigest() for path, sql in sources.items()
        }
        error = _changed_after_apply(component, folder, done, checksums)
        if error is not None:
            raise error
        for path, sql in sources.items():
            checksum = checksums[path]
            if path.stem in done:
                continue
            async with conn.transaction():
                await conn.execute(sql)
                await conn.execute(
                    "INSERT INTO schema_migrations (component, version, checksum) "
                    "VALUES ($1, $2, $3)",
                    component,
                    path.stem,
                    checksum,
                )
            log.info("migration.applied", component=component, version=path.stem)
            applied.append(path.stem)
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", MIGRATION_LOCK_KEY)
    return applied
