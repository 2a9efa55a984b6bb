"""Per-service roles: `pipeline migrate` (the owner) creates them; each may do only its part.

The local test server trusts loopback, so these tests connect as a role by name; what they
check is what each role may do, which PostgreSQL enforces whatever the authentication.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
import secrets
import subprocess
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from pydantic import SecretStr

from services.importer import MIGRATIONS as IMPORTER_MIGRATIONS
from services.importer import roles
from services.importer.schema import migrate_all
from shared.errors import ConfigError
from shared.schema_ready import prepare_schema
from shared.settings import PipelineSettings
from tests.conftest import ADMIN_DSN, dsn_for, unique
from tests.pgtls import TlsPostgres
from tests.polling import eventually

pytestmark = [pytest.mark.postgres]

PIPELINE = str(Path(sys.executable).with_name("pipeline"))
DATA_TABLES = ("vehicles", "events", "articles")


@dataclass
class Roles:
    """A database migrated by `pipeline migrate` and the DSNs of its three service roles."""

    owner: str
    namespace: str
    passwords: dict[str, str]

    def dsn(self, service: str) -> str:
        """Return the DSN of ``service``'s role (no password: the test server trusts loopback)."""
        role = roles.role_name(self.namespace, service)
        return self.owner.replace("//postgres@", f"//{role}@", 1)


def migrate_env(owner: str, namespace: str, passwords: dict[str, str]) -> dict[str, str]:
    """Return the environment of `pipeline migrate` as the compose migrate service has it."""
    return {
        **os.environ,
        "DATABASE_URL": owner,
        "PIPELINE_NAMESPACE": namespace,
        **{f"{service.upper()}_DB_PASSWORD": password for service, password in passwords.items()},
    }


def run_migrate(env: dict[str, str]) -> str:
    """Run `pipeline migrate` and return what it printed (fail on a non-zero exit)."""
    result = subprocess.run(
        [PIPELINE, "migrate"], env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout + result.stderr


async def drop_roles(namespace: str) -> None:
    """Drop the service roles of ``namespace`` (their databases are dropped first)."""
    admin = await asyncpg.connect(ADMIN_DSN)
    try:
        for service in roles.SERVICES:
            await admin.execute(f'DROP ROLE IF EXISTS "{roles.role_name(namespace, service)}"')
    finally:
        await admin.close()


@contextlib.asynccontextmanager
async def scratch_database(prefix: str, role_prefix: str) -> AsyncIterator[tuple[str, str]]:
    """Create an empty database and a namespace for roles; drop both afterwards.

    Yields:
        The owner's DSN of the database, and the namespace the service roles are named after.
    """
    database, namespace = unique(prefix), unique(role_prefix)
    admin = await asyncpg.connect(ADMIN_DSN)
    await admin.execute(f'CREATE DATABASE "{database}"')
    await admin.close()
    try:
        yield dsn_for(database), namespace
    finally:
        admin = await asyncpg.connect(ADMIN_DSN)
        await admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        await admin.close()
        await drop_roles(namespace)


@pytest.fixture
async def service_roles() -> AsyncIterator[Roles]:
    """Migrate a new database with `pipeline migrate`, roles and all; drop everything after."""
    async with scratch_database("service_roles_", "r") as (owner, namespace):
        passwords = {service: secrets.token_hex(16) for service in roles.SERVICES}
        setup = Roles(owner, namespace, passwords)
        output = run_migrate(migrate_env(setup.owner, namespace, passwords))
        assert f"{namespace}_monitor" in output
        for password in passwords.values():
            assert password not in output
        yield setup


async def _refused(conn: asyncpg.Connection, statement: str) -> None:
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        await conn.execute(statement)


async def test_no_service_role_can_change_the_schema(service_roles: Roles) -> None:
    """importer, processor and monitor roles cannot DROP, ALTER or CREATE a table, nor touch
    schema_migrations, nor create roles."""
    for service in roles.SERVICES:
        conn = await asyncpg.connect(service_roles.dsn(service))
        try:
            assert (
                await conn.fetchval("SELECT current_user") == f"{service_roles.namespace}_{service}"
            )
            await _refused(conn, "DROP TABLE vehicles")
            await _refused(conn, "DROP TABLE monitor_events")
            await _refused(conn, "DROP TABLE processor_known_vehicles")
            await _refused(conn, "ALTER TABLE vehicles ADD COLUMN intruder int")
            await _refused(conn, "ALTER TABLE monitor_events ADD COLUMN intruder int")
            await _refused(conn, "CREATE TABLE intruder (id int)")
            await _refused(conn, "DELETE FROM schema_migrations")
            await _refused(conn, "CREATE ROLE intruder")
            assert await conn.fetchval("SELECT count(*) FROM schema_migrations") > 0
        finally:
            await conn.close()


async def test_monitor_reads_data_tables_and_writes_only_its_own(service_roles: Roles) -> None:
    """The monitor role may SELECT vehicles/events/articles but not INSERT, UPDATE or DELETE
    them; it may write monitor_events; it cannot read the processor's tables."""
    conn = await asyncpg.connect(service_roles.dsn("monitor"))
    try:
        for table in DATA_TABLES:
            assert await conn.fetchval(f"SELECT count(*) FROM {table}") == 0
            await _refused(conn, f"INSERT INTO {table} DEFAULT VALUES")
            await _refused(conn, f"UPDATE {table} SET source_name = 'x'")
            await _refused(conn, f"DELETE FROM {table}")
            await _refused(conn, f"TRUNCATE {table}")
        await _refused(conn, "SELECT count(*) FROM processor_known_vehicles")
        async with conn.transaction():
            await conn.execute(
                "INSERT INTO monitor_events (event_id, subject, stage, day, occurred_at, payload) "
                "VALUES (gen_random_uuid(), 'probe', 'test', current_date, now(), '{}')"
            )
            assert await conn.fetchval("SELECT count(*) FROM monitor_events") == 1
            await conn.execute("DELETE FROM monitor_events")
    finally:
        await conn.close()


async def test_importer_and_processor_write_only_their_own_tables(service_roles: Roles) -> None:
    """The importer may write the data tables but not the monitor's or the processor's; the
    processor may write its own tables and read none of the data tables."""
    importer = await asyncpg.connect(service_roles.dsn("importer"))
    processor = await asyncpg.connect(service_roles.dsn("processor"))
    try:
        assert await importer.fetchval("SELECT count(*) FROM vehicles") == 0
        await importer.execute("CREATE TEMP TABLE staging (id int)")  # the loader's staging
        await _refused(importer, "DELETE FROM monitor_events")
        await _refused(importer, "DELETE FROM processor_known_vehicles")
        assert await processor.fetchval("SELECT count(*) FROM processor_known_vehicles") == 0
        await processor.execute("DELETE FROM processor_geocache")
        await _refused(processor, "SELECT count(*) FROM vehicles")
        await _refused(processor, "DELETE FROM monitor_events")
    finally:
        await importer.close()
        await processor.close()


async def test_migrate_again_rotates_passwords_and_keeps_grants(service_roles: Roles) -> None:
    """A second `pipeline migrate` with new passwords updates the stored SCRAM verifiers; the
    verifier is the one PostgreSQL itself computes for that password and salt."""
    admin = await asyncpg.connect(service_roles.owner)
    try:
        role = roles.role_name(service_roles.namespace, "monitor")
        before = await admin.fetchval("SELECT rolpassword FROM pg_authid WHERE rolname = $1", role)
        rotated = {service: secrets.token_hex(16) for service in roles.SERVICES}
        run_migrate(migrate_env(service_roles.owner, service_roles.namespace, rotated))
        after = await admin.fetchval("SELECT rolpassword FROM pg_authid WHERE rolname = $1", role)
        assert after != before
        assert after.startswith("SCRAM-SHA-256$4096:")
        salt = base64.b64decode(after.split(":")[1].split("$")[0])
        assert roles.scram_verifier(rotated["monitor"], salt) == after
        # PostgreSQL's own verifier for a password, recomputed here from its salt.
        probe = unique("scram_probe_")
        await admin.execute("SET password_encryption = 'scram-sha-256'")
        await admin.execute(f"CREATE ROLE \"{probe}\" PASSWORD 'made-up-probe'")
        try:
            theirs = await admin.fetchval(
                "SELECT rolpassword FROM pg_authid WHERE rolname = $1", probe
            )
            their_salt = base64.b64decode(theirs.split(":")[1].split("$")[0])
            assert roles.scram_verifier("made-up-probe", their_salt) == theirs
        finally:
            await admin.execute(f'DROP ROLE "{probe}"')
    finally:
        await admin.close()
    monitor = await asyncpg.connect(service_roles.dsn("monitor"))
    try:
        await _refused(monitor, "DELETE FROM vehicles")
        assert await monitor.fetchval("SELECT count(*) FROM monitor_events") == 0
    finally:
        await monitor.close()


async def _has_session(role: str) -> bool:
    admin = await asyncpg.connect(ADMIN_DSN)
    try:
        return bool(await admin.fetchval("SELECT 1 FROM pg_stat_activity WHERE usename = $1", role))
    finally:
        await admin.close()


def _settings(dsn: str, wait_s: float) -> PipelineSettings:
    return PipelineSettings(DATABASE_URL=SecretStr(dsn), SCHEMA_WAIT_S=wait_s)


async def test_a_service_role_waits_for_the_owners_migration(tmp_path: Path) -> None:
    """A service connected as its own role never migrates: it waits until `pipeline migrate`
    has applied what its code knows, and fails with one clear line if that never happens."""
    async with scratch_database("service_wait_", "w") as (owner, namespace):
        passwords = roles.RolePasswords(MONITOR_DB_PASSWORD=secrets.token_hex(16))
        role = roles.role_name(namespace, "monitor")
        role_dsn = owner.replace("//postgres@", f"//{role}@", 1)
        components = {"importer": IMPORTER_MIGRATIONS}

        async def forbidden(_conn: asyncpg.Connection) -> list[str]:
            raise AssertionError("a service role must not migrate")

        conn = await asyncpg.connect(owner)
        try:
            await roles.apply(conn, namespace, passwords)  # the role exists, no table yet
        finally:
            await conn.close()
        with pytest.raises(ConfigError, match="pipeline migrate") as failure:
            await prepare_schema(_settings(role_dsn, 0.5), forbidden, components)
        assert "importer/001_initial" in str(failure.value)
        assert role in str(failure.value)

        waiting = asyncio.create_task(
            prepare_schema(_settings(role_dsn, 60), forbidden, components)
        )
        await eventually(lambda: _has_session(role))  # it is waiting, connected as its role
        assert not waiting.done()
        conn = await asyncpg.connect(owner)
        try:
            await migrate_all(conn)
            await roles.apply(conn, namespace, passwords)
        finally:
            await conn.close()
        assert await asyncio.wait_for(waiting, timeout=30) == []


async def test_a_service_waits_for_its_role_to_be_created(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Compose starts the services beside the one-shot migrate service: a service whose role
    does not exist yet keeps trying, and starts once the owner has created the role and
    applied the migrations."""
    async with scratch_database("service_role_wait_", "r") as (owner, namespace):
        passwords = roles.RolePasswords(MONITOR_DB_PASSWORD=secrets.token_hex(16))
        role = roles.role_name(namespace, "monitor")
        role_dsn = owner.replace("//postgres@", f"//{role}@", 1)
        components = {"importer": IMPORTER_MIGRATIONS}
        refused: list[BaseException] = []
        connect = asyncpg.connect

        async def counted(dsn: str, **kwargs: Any) -> asyncpg.Connection:
            try:
                return await connect(dsn, **kwargs)
            except asyncpg.PostgresError as exc:
                if dsn == role_dsn:
                    refused.append(exc)
                raise

        async def forbidden(_conn: asyncpg.Connection) -> list[str]:
            raise AssertionError("a service role must not migrate")

        async def tried_again() -> bool:
            return len(refused) >= 2  # refused, waited, refused again

        monkeypatch.setattr(asyncpg, "connect", counted)
        waiting = asyncio.create_task(
            prepare_schema(_settings(role_dsn, 60), forbidden, components)
        )
        await eventually(tried_again)
        assert not waiting.done()
        assert all(role in str(exc) for exc in refused)
        conn = await connect(owner)
        try:
            await migrate_all(conn)
            await roles.apply(conn, namespace, passwords)
        finally:
            await conn.close()
        assert await asyncio.wait_for(waiting, timeout=60) == []


async def test_the_owner_still_migrates_at_start() -> None:
    """Outside compose (superuser on the local server) a service migrates at start as before."""
    database = unique("service_owner_")
    admin = await asyncpg.connect(ADMIN_DSN)
    await admin.execute(f'CREATE DATABASE "{database}"')
    await admin.close()
    try:
        applied = await prepare_schema(
            _settings(dsn_for(database), 1), migrate_all, {"importer": IMPORTER_MIGRATIONS}
        )
        assert "importer/001_initial" not in applied
        assert "001_initial" in applied
    finally:
        admin = await asyncpg.connect(ADMIN_DSN)
        await admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        await admin.close()


async def test_compose_dsns_authenticate_with_the_passwords_migrate_set(tmp_path: Path) -> None:
    """On a server that asks for passwords (SCRAM), each service role signs in with the password
    `pipeline migrate` set, as compose's DSNs do; a wrong or missing password is refused."""
    server = await asyncio.to_thread(TlsPostgres.start, tls=False)
    namespace = unique("a")
    passwords = {service: secrets.token_hex(16) for service in roles.SERVICES}
    try:
        owner = server.dsn("postgres")
        run_migrate(migrate_env(owner, namespace, passwords))
        base = f"{server.host}:{server.port}/postgres"
        for service, password in passwords.items():
            role = roles.role_name(namespace, service)
            conn = await asyncpg.connect(f"postgresql://{role}:{password}@{base}")
            try:
                assert await conn.fetchval("SELECT current_user") == role
            finally:
                await conn.close()
            with pytest.raises(asyncpg.InvalidPasswordError):
                await asyncpg.connect(f"postgresql://{role}:{'0' * 32}@{base}")
    finally:
        await asyncio.to_thread(server.stop)


async def test_a_service_that_may_not_migrate_stops_with_one_line(tmp_path: Path) -> None:
    """`python -m services.importer` as its role on a database nobody migrated waits
    SCHEMA_WAIT_S, then exits 2 with one line naming the missing migration and the remedy."""
    async with scratch_database("service_unmigrated_", "u") as (owner, namespace):
        conn = await asyncpg.connect(owner)
        try:
            passwords = roles.RolePasswords(IMPORTER_DB_PASSWORD=secrets.token_hex(16))
            await roles.apply(conn, namespace, passwords)  # the role, but no migration
        finally:
            await conn.close()
        role = roles.role_name(namespace, "importer")
        env = {
            **os.environ,
            "DATABASE_URL": owner.replace("//postgres@", f"//{role}@", 1),
            "SCHEMA_WAIT_S": "1",
            "DATA_DIR": str(tmp_path),
            "PIPELINE_NAMESPACE": namespace,
        }
        env.pop("MIGRATION_DATABASE_URL", None)
        result = await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "-m", "services.importer"],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert result.returncode == 2, result.stderr
        [line] = result.stderr.strip().splitlines()
        assert "importer/001_initial" in line
        assert role in line
        assert "pipeline migrate" in line
        conn = await asyncpg.connect(owner)
        try:
            assert await conn.fetchval("SELECT to_regclass('vehicles')") is None  # never tried
        finally:
            await conn.close()
