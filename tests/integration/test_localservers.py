"""Local servers: PostgreSQL and NATS started from their wheels where none answers, then stopped.

Each test points the URLs at free loopback ports, so the machine's own servers are left alone.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import nats
import pytest

from services import localservers
from tests.ports import free_port

pytestmark = [pytest.mark.postgres, pytest.mark.nats, pytest.mark.slow, pytest.mark.timeout(180)]


@pytest.fixture
def urls(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, str]]:
    """Return a DATABASE_URL and a NATS_URL where nothing answers, and a data folder for both.

    The folder is not under pytest's base temp: as root, PostgreSQL runs as another user that
    must traverse its parents, and every pytest run resets its base folder to mode 0700.
    """
    root = Path(tempfile.mkdtemp(prefix="localservers-"))
    monkeypatch.setenv("EMBEDDED_SERVERS_DIR", str(root))
    monkeypatch.delenv("EMBEDDED_SERVERS", raising=False)
    yield (
        f"postgresql://postgres@127.0.0.1:{free_port()}/postgres",
        f"nats://127.0.0.1:{free_port()}",
    )
    shutil.rmtree(root, ignore_errors=True)


async def test_started_where_none_answers_usable_then_stopped(urls: tuple[str, str]) -> None:
    """Both servers start, serve what the pipeline needs (pg_trgm, JetStream), and stop."""
    database_url, nats_url = urls
    postgres, bus = localservers.endpoints(database_url, nats_url)
    assert not postgres.answers()
    assert not bus.answers()

    started = localservers.ensure(database_url, nats_url)
    try:
        assert [s.endpoint.kind for s in started] == ["PostgreSQL", "NATS"]
        conn = await asyncpg.connect(database_url)
        try:
            await conn.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
            assert await conn.fetchval("SELECT similarity('camaro', 'camero')") > 0.3
            assert await conn.fetchval("SHOW listen_addresses") == "127.0.0.1"
        finally:
            await conn.close()
        nc = await nats.connect(nats_url)
        try:
            info = await nc.jetstream().account_info()
            assert info.limits is not None
        finally:
            await nc.drain()
    finally:
        localservers.stop_all(started)
    assert not postgres.answers()
    assert not bus.answers()


async def test_data_kept_between_starts(urls: tuple[str, str]) -> None:
    """A second start finds what the first one stored."""
    database_url, nats_url = urls
    with localservers.running(database_url, nats_url):
        conn = await asyncpg.connect(database_url)
        await conn.execute("CREATE TABLE kept (n int); INSERT INTO kept VALUES (42)")
        await conn.close()
    with localservers.running(database_url, nats_url):
        conn = await asyncpg.connect(database_url)
        assert await conn.fetchval("SELECT n FROM kept") == 42
        await conn.close()


def test_a_server_that_answers_is_used_not_started(urls: tuple[str, str]) -> None:
    """Where something answers at the URL (here: the first start), nothing else is started."""
    database_url, nats_url = urls
    with localservers.running(database_url, nats_url) as first:
        assert len(first) == 2
        assert localservers.ensure(database_url, nats_url) == []


def test_remote_or_never_is_a_clear_error(
    urls: tuple[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """No server is started for another machine's address, nor with EMBEDDED_SERVERS=never."""
    database_url, nats_url = urls
    with pytest.raises(localservers.LocalServerError, match="not on this machine"):
        localservers.ensure("postgresql://u@192.0.2.1:5432/db", nats_url)
    monkeypatch.setenv("EMBEDDED_SERVERS", "never")
    with pytest.raises(localservers.LocalServerError, match="EMBEDDED_SERVERS=never"):
        localservers.ensure(database_url, nats_url)


def test_servers_run_passes_the_exit_code_and_stops_them(urls: tuple[str, str]) -> None:
    """`pipeline servers run -- CMD` runs CMD with both servers up, then stops them."""
    database_url, nats_url = urls
    probe = (
        "import socket, sys; from urllib.parse import urlsplit; "
        "[socket.create_connection((urlsplit(u).hostname, urlsplit(u).port), 5).close() "
        "for u in sys.argv[1:]]; sys.exit(3)"
    )
    env = {**os.environ, "DATABASE_URL": database_url, "NATS_URL": nats_url}
    pipeline = str(Path(sys.executable).parent / "pipeline")
    command = [sys.executable, "-c", probe, database_url, nats_url]
    done = subprocess.run(
        [pipeline, "servers", "run", "--", *command],
        env=env,
        capture_output=True,
        text=True,
        timeout=150,
        check=False,
    )
    assert done.returncode == 3, done.stderr
    assert "started PostgreSQL" in done.stderr
    assert "stopped PostgreSQL" in done.stderr
    postgres, bus = localservers.endpoints(database_url, nats_url)
    assert not postgres.answers()
    assert not bus.answers()
