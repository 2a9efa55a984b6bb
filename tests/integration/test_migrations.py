"""Migrations: an applied file that changed stops ``pipeline migrate`` and a service's start."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest
from click.testing import CliRunner

from services.cli import main
from services.runner import service_command
from shared.db import MIGRATION_LOCK_KEY, apply_migrations
from shared.errors import ConfigError
from tests.conftest import ADMIN_DSN, NATS_URL, dsn_for, unique

pytestmark = [pytest.mark.postgres]


async def test_an_edited_migration_stops_before_anything_is_applied(
    database_url: str, tmp_path: Path
) -> None:
    """The error names the edited file; a migration pending after it is not applied."""
    component = unique("probe_")
    table = unique("probe_t_")
    folder = tmp_path / "migrations"
    folder.mkdir()
    first = folder / "001_first.sql"
    first.write_text(f"CREATE TABLE {table} (id int);\n")
    conn = await asyncpg.connect(database_url)
    try:
        assert await apply_migrations(conn, component, folder) == ["001_first"]
        first.write_text(f"CREATE TABLE {table} (id bigint);\n")
        (folder / "002_second.sql").write_text(f"ALTER TABLE {table} ADD COLUMN x int;\n")
        with pytest.raises(ConfigError, match=r"001_first\.sql"):
            await apply_migrations(conn, component, folder)
        applied = await conn.fetch(
            "SELECT version FROM schema_migrations WHERE component = $1", component
        )
        assert [row["version"] for row in applied] == ["001_first"]
        other = await asyncpg.connect(database_url)
        try:  # the migration lock was released: another process may take it
            assert await other.fetchval("SELECT pg_try_advisory_lock($1)", MIGRATION_LOCK_KEY)
            await other.execute("SELECT pg_advisory_unlock($1)", MIGRATION_LOCK_KEY)
        finally:
            await other.close()
        first.write_text(f"CREATE TABLE {table} (id int);\n")  # restored: migrating goes on
        assert await apply_migrations(conn, component, folder) == ["002_second"]
    finally:
        await conn.execute(f"DROP TABLE IF EXISTS {table}")
        await conn.execute("DELETE FROM schema_migrations WHERE component = $1", component)
        await conn.close()


@pytest.fixture
def own_database() -> Iterator[str]:
    """Return the DSN of a database of this test only (its migration records get tampered)."""
    name = unique("pipeline_mig_")
    yield dsn_for(name)

    async def drop() -> None:
        admin = await asyncpg.connect(ADMIN_DSN)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()

    asyncio.run(drop())


def _migrated_then_tampered(database: str) -> None:
    """Apply every migration, then change an applied importer migration's recorded checksum."""
    env = {"DATABASE_URL": database, "LOG_LEVEL": "WARNING"}
    first = CliRunner().invoke(main, ["migrate", "--create-database"], env=env)
    assert first.exit_code == 0, first.output

    async def tamper() -> None:  # as if 001_initial.sql had been edited since it was applied
        conn = await asyncpg.connect(database)
        try:
            await conn.execute(
                "UPDATE schema_migrations SET checksum = $1"
                " WHERE component = 'importer' AND version = '001_initial'",
                "0" * 64,
            )
        finally:
            await conn.close()

    asyncio.run(tamper())


def test_pipeline_migrate_refuses_a_changed_migration(own_database: str) -> None:
    """After an applied importer migration changed, ``pipeline migrate`` exits 2 naming it."""
    _migrated_then_tampered(own_database)
    env = {"DATABASE_URL": own_database, "LOG_LEVEL": "WARNING"}
    second = CliRunner().invoke(main, ["migrate"], env=env)
    assert second.exit_code == 2
    assert "001_initial.sql" in second.output
    assert "changed after they were applied" in second.output


@pytest.mark.nats
def test_the_importer_refuses_to_start_on_a_changed_migration(
    own_database: str, tmp_path: Path
) -> None:
    """The importer service, started on such a database, exits 2 naming the file, and stays out."""
    _migrated_then_tampered(own_database)
    env = {
        **os.environ,
        "DATABASE_URL": own_database,
        "NATS_URL": NATS_URL,
        "PIPELINE_NAMESPACE": unique("m"),
        "DATA_DIR": str(tmp_path / "data"),
    }
    try:
        done = subprocess.run(
            [sys.executable, *service_command("importer")[1:]],
            env=env,
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    except subprocess.TimeoutExpired:
        pytest.fail("the importer started (still running after 30 s) on a changed migration")
    assert done.returncode == 2, done.stdout + done.stderr
    assert "001_initial.sql" in done.stdout + done.stderr
