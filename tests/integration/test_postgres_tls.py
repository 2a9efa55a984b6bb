"""PostgreSQL over TLS through configuration alone: DATABASE_URL with sslmode and sslrootcert.

The services open their pool with ``shared.db.create_pool(settings.database_url)``; asyncpg reads
``sslmode=verify-full`` and ``sslrootcert=...`` from the DSN, so no setting beyond the URL is
needed. A private TLS server (tests/pgtls.py) stands in for a managed PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pydantic import SecretStr

from services.importer.config import ImporterSettings
from shared import db
from shared.errors import ConfigError
from tests.pgtls import TlsPostgres

pytestmark = pytest.mark.postgres

SSL_OF_THIS_BACKEND = "SELECT ssl, version FROM pg_stat_ssl WHERE pid = pg_backend_pid()"


@pytest.fixture(scope="session")
def tls_server() -> Iterator[TlsPostgres]:
    """Run a throw-away PostgreSQL with ssl=on for the session; stop and remove it after."""
    server = TlsPostgres.start()
    try:
        yield server
    finally:
        server.stop()


def _settings(monkeypatch: pytest.MonkeyPatch, dsn: str) -> ImporterSettings:
    monkeypatch.setenv("DATABASE_URL", dsn)
    return ImporterSettings()


async def test_service_pool_with_verify_full_is_encrypted(
    tls_server: TlsPostgres, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A service's pool from DATABASE_URL with verify-full and the CA runs over TLS."""
    dsn = tls_server.dsn(sslmode="verify-full", sslrootcert=tls_server.ca_cert)
    settings = _settings(monkeypatch, dsn)
    async with (
        db.create_pool(settings.database_url, min_size=2, max_size=2) as pool,
        pool.acquire() as first,
        pool.acquire() as second,
    ):
        rows = [
            await first.fetchrow(SSL_OF_THIS_BACKEND),
            await second.fetchrow(SSL_OF_THIS_BACKEND),
        ]
    assert [row["ssl"] for row in rows] == [True, True]
    assert all(row["version"].startswith("TLSv1.") for row in rows), rows


async def test_one_off_connection_with_verify_full_is_encrypted(tls_server: TlsPostgres) -> None:
    """The CLI's single connection (migrations, reports) uses the same DSN and TLS."""
    dsn = tls_server.dsn(sslmode="verify-full", sslrootcert=tls_server.ca_cert)
    conn = await db.connect_once(SecretStr(dsn))
    try:
        row = await conn.fetchrow(SSL_OF_THIS_BACKEND)
    finally:
        await conn.close()
    assert row["ssl"] is True


async def test_without_tls_in_the_dsn_the_same_server_is_plain(tls_server: TlsPostgres) -> None:
    """With sslmode=disable the connection is in clear: the check above can tell the difference."""
    conn = await db.connect_once(SecretStr(tls_server.dsn(sslmode="disable")))
    try:
        row = await conn.fetchrow(SSL_OF_THIS_BACKEND)
    finally:
        await conn.close()
    assert row["ssl"] is False


async def test_a_wrong_ca_is_refused_with_a_clear_error(
    tls_server: TlsPostgres, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A server whose certificate the configured CA did not sign is refused, saying why."""
    dsn = tls_server.dsn(sslmode="verify-full", sslrootcert=tls_server.other_ca_cert)
    settings = _settings(monkeypatch, dsn)
    with pytest.raises(ConfigError) as refused:
        async with db.create_pool(settings.database_url):
            pass
    message = str(refused.value)
    assert "cannot use PostgreSQL at" in message
    assert "certificate verify failed" in message, message
    assert "\n" not in message
