"""The services' role reads and writes rows but cannot change the schema; the owner migrates."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from services.importer import app, schema
from services.importer.config import ImporterSettings
from services.importer.loader import load_file
from shared.events import RecordType
from shared.storage import DataDir
from tests.conftest import ADMIN_DSN, dsn_for, unique
from tests.integration.test_importer import VEHICLES_FILE, vehicle_line, write_jsonl

pytestmark = [pytest.mark.postgres]


@pytest.fixture
async def owner_and_app() -> AsyncIterator[tuple[str, str, str]]:
    """Return (owner DSN, app DSN, app role) on a new database; drop both afterwards."""
    database, role = unique("importer_roles_"), unique("importer_app_")
    admin = await asyncpg.connect(ADMIN_DSN)
    try:
        await admin.execute(f'CREATE ROLE "{role}" LOGIN')
        await admin.execute(f'CREATE DATABASE "{database}"')
        owner = dsn_for(database)
        yield owner, owner.replace("//postgres@", f"//{role}@", 1), role
        await admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        await admin.execute(f'DROP ROLE IF EXISTS "{role}"')
    finally:
        await admin.close()


async def test_app_role_loads_rows_but_cannot_change_the_schema(
    owner_and_app: tuple[str, str, str], data_dir: DataDir, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Start-up migrates with the owner DSN and grants the app role, which can load and update
    rows (history included) but not CREATE or ALTER a table."""
    owner, app_dsn, role = owner_and_app
    monkeypatch.setenv("DATABASE_URL", app_dsn)
    monkeypatch.setenv("MIGRATION_DATABASE_URL", owner)
    monkeypatch.setenv("IMPORTER_APP_ROLE", role)
    applied = await app.migrate(ImporterSettings())
    path = Path(data_dir.root / write_jsonl(data_dir, VEHICLES_FILE, [vehicle_line(1)]))
    async with asyncpg.create_pool(app_dsn, min_size=1, max_size=2) as pool:
        loaded = await load_file(pool, path, RecordType.VEHICLES, 100)
        write_jsonl(data_dir, VEHICLES_FILE, [vehicle_line(1, price=55_000)])
        changed = await load_file(pool, path, RecordType.VEHICLES, 100)
        async with pool.acquire() as conn:
            user = await conn.fetchval("SELECT current_user")
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await conn.execute("CREATE TABLE intruder (id int)")
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await conn.execute("ALTER TABLE vehicles ADD COLUMN intruder int")
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await conn.execute("DROP TABLE field_history")
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await conn.execute("DELETE FROM schema_migrations")
            history = await conn.fetchval("SELECT count(*) FROM field_history")
    assert user == role
    assert "003_history_and_roles" in applied
    assert (loaded.inserted, changed.updated) == (1, 1)
    assert history == 1


async def test_granting_a_missing_role_is_skipped(owner_and_app: tuple[str, str, str]) -> None:
    """A configured role that does not exist yet is reported, not an error."""
    owner, _app_dsn, _role = owner_and_app
    conn = await asyncpg.connect(owner)
    try:
        await schema.migrate(conn)
        assert await schema.grant_app_role(conn, "no_such_role_here") is False
        assert await schema.migrate_all(conn) != []  # the monitor's migrations were pending
        assert await schema.migrate_all(conn, "no_such_role_here") == []
    finally:
        await conn.close()
