"""One PostgreSQL login role per service, each granted only what that service does.

``pipeline migrate``, run as the owner, creates or updates the roles whose password is set
(``IMPORTER_DB_PASSWORD``, ``PROCESSOR_DB_PASSWORD``, ``MONITOR_DB_PASSWORD``) and grants them,
after every migration, so tables added later are covered. A role is named
``<PIPELINE_NAMESPACE>_<service>`` (``pipeline_importer`` ...): two stacks on one server keep
theirs apart. Which tables a service owns is read from the name: ``processor_*`` are the
processor's, ``monitor_*`` the monitor's, the rest (vehicles, events, articles, their history
and batches) the importer's.

| role      | may                                                                                |
| --------- | ---------------------------------------------------------------------------------- |
| importer  | read and write the data tables and their sequences; temporary tables (staging)     |
| processor | read and write its ``processor_*`` tables                                          |
| monitor   | read the data tables; read and write its ``monitor_*`` tables                      |
| all three | read ``schema_migrations`` (to wait for the owner's migration); never DDL           |

The password is sent as a SCRAM-SHA-256 verifier computed here, so it appears in no server
log or statement text. The collector uses no database and gets no role.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from collections.abc import Mapping

import asyncpg
import structlog
from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

log = structlog.get_logger(__name__)

SCRAM_ITERATIONS = 4096
MIN_PASSWORD_LENGTH = 16
PASSWORD_RE = re.compile(rf"^[A-Za-z0-9._~-]{{{MIN_PASSWORD_LENGTH},}}$")
DATA = "importer"  # tables without a service prefix belong to the importer
SERVICES = ("importer", "processor", "monitor")
ROLE_ATTRIBUTES = "LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS NOINHERIT"

# (own tables' privileges, privileges on the data tables when not their owner)
TABLE_PRIVILEGES: Mapping[str, tuple[str, str | None]] = {
    "importer": ("SELECT, INSERT, UPDATE, DELETE", None),
    "processor": ("SELECT, INSERT, UPDATE, DELETE", None),
    "monitor": ("SELECT, INSERT, UPDATE, DELETE", "SELECT"),
}


class RolePasswords(BaseSettings):
    """The per-service passwords ``pipeline migrate`` sets; a service without one is skipped."""

    model_config = SettingsConfigDict(env_file=None, extra="ignore", frozen=True)

    importer: SecretStr | None = Field(default=None, validation_alias="IMPORTER_DB_PASSWORD")
    processor: SecretStr | None = Field(default=None, validation_alias="PROCESSOR_DB_PASSWORD")
    monitor: SecretStr | None = Field(default=None, validation_alias="MONITOR_DB_PASSWORD")

    @field_validator("importer", "processor", "monitor")
    @classmethod
    def _check_password(cls, value: SecretStr | None) -> SecretStr | None:
        text = value.get_secret_value() if value is not None else ""
        if text and not PASSWORD_RE.match(text):
            msg = (
                f"must be at least {MIN_PASSWORD_LENGTH} characters of letters, digits, "
                "'.', '_', '~' or '-' (it goes into the services' connection URLs; "
                "e.g. openssl rand -hex 32)"
            )
            raise ValueError(msg)
        return value

    def given(self) -> dict[str, SecretStr]:
        """Return service -> password for every non-empty password."""
        found = {service: getattr(self, service) for service in SERVICES}
        return {s: p for s, p in found.items() if p is not None and p.get_secret_value()}


def role_name(namespace: str, service: str) -> str:
    """Return the login role of ``service`` in the stack of ``namespace``."""
    return f"{namespace}_{service}"


def owner_of(table: str) -> str:
    """Return the service that owns ``table`` (by its name's prefix)."""
    for service in ("processor", "monitor"):
        if table.startswith(f"{service}_"):
            return service
    return DATA


def scram_verifier(password: str, salt: bytes | None = None) -> str:
    """Return the SCRAM-SHA-256 verifier PostgreSQL stores for ``password`` (RFC 5802/7677)."""
    salt = salt or secrets.token_bytes(16)
    salted = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, SCRAM_ITERATIONS)
    client_key = hmac.digest(salted, b"Client Key", "sha256")
    stored_key = hashlib.sha256(client_key).digest()
    server_key = hmac.digest(salted, b"Server Key", "sha256")

    def b64(raw: bytes) -> str:
        return base64.b64encode(raw).decode()

    return f"SCRAM-SHA-256${SCRAM_ITERATIONS}:{b64(salt)}${b64(stored_key)}:{b64(server_key)}"


async def _execute_formatted(conn: asyncpg.Connection, template: str, *args: str) -> None:
    """Run a utility statement whose names (%I) and literals (%L) PostgreSQL quotes itself."""
    statement = await conn.fetchval(
        f"SELECT format($1::text, {', '.join(f'${i + 2}::text' for i in range(len(args)))})",
        template,
        *args,
    )
    await conn.execute(statement)


async def ensure_role(conn: asyncpg.Connection, role: str, password: SecretStr) -> None:
    """Create the login role, or reset its attributes and password (rotation) if it exists."""
    verifier = scram_verifier(password.get_secret_value())
    exists = await conn.fetchval("SELECT 1 FROM pg_roles WHERE rolname = $1", role)
    if not exists:
        try:
            await _execute_formatted(
                conn, f"CREATE ROLE %I {ROLE_ATTRIBUTES} PASSWORD %L", role, verifier
            )
            log.info("roles.created", role=role)
            return
        except asyncpg.DuplicateObjectError:  # another migrate run created it meanwhile
            pass
    await _execute_formatted(conn, f"ALTER ROLE %I {ROLE_ATTRIBUTES} PASSWORD %L", role, verifier)
    log.info("roles.updated", role=role)


async def grant(conn: asyncpg.Connection, role: str, service: str) -> None:
    """Give ``role`` exactly the privileges of ``service``: revoke all, then grant (one
    transaction, so a running service never sees a gap)."""
    own, data = TABLE_PRIVILEGES[service]
    relations = await conn.fetch(
        "SELECT c.relname, c.relkind FROM pg_class AS c "
        "JOIN pg_namespace AS n ON n.oid = c.relnamespace "
        "WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v', 'm', 'S') "
        "ORDER BY c.relname"
    )
    async with conn.transaction():
        await _execute_formatted(conn, "REVOKE ALL ON ALL TABLES IN SCHEMA public FROM %I", role)
        await _execute_formatted(conn, "REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM %I", role)
        await _execute_formatted(conn, "GRANT USAGE ON SCHEMA public TO %I", role)
        if service == DATA:
            await _execute_formatted(
                conn, "GRANT TEMPORARY ON DATABASE %I TO %I", await _database(conn), role
            )
        for name, kind in relations:
            privileges = _privileges(service, owner_of(name), kind, own, data)
            if name == "schema_migrations":
                privileges = "SELECT"
            if privileges:
                target = "SEQUENCE " if kind == "S" else ""
                await _execute_formatted(
                    conn, f"GRANT {privileges} ON {target}%I TO %I", name, role
                )
    log.info("roles.granted", role=role, service=service)


def _privileges(service: str, owner: str, kind: str, own: str, data: str | None) -> str | None:
    """Return what ``service`` may do to a relation of ``owner`` and ``kind`` (None: nothing)."""
    if owner == service:
        if kind == "S":
            return "USAGE, SELECT"
        return "SELECT" if kind in ("v", "m") else own
    if owner == DATA and data and kind != "S":
        return data
    return None


async def _database(conn: asyncpg.Connection) -> str:
    return str(await conn.fetchval("SELECT current_database()"))


async def apply(conn: asyncpg.Connection, namespace: str, passwords: RolePasswords) -> list[str]:
    """Create or update the role of every service with a password and grant it; return them."""
    done = []
    for service, password in passwords.given().items():
        role = role_name(namespace, service)
        await ensure_role(conn, role, password)
        await grant(conn, role, service)
        done.append(role)
    return done
