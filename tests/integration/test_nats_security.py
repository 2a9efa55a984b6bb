"""NATS authentication and TLS work through configuration alone (a private nats-server per test)."""

from __future__ import annotations

import secrets
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from services.localservers import nats_server_program
from shared.bus import connect
from shared.errors import ConfigError
from shared.settings import PipelineSettings
from tests.polling import eventually
from tests.ports import free_port, listening

pytestmark = pytest.mark.nats

NATS_SERVER = str(nats_server_program())


def _server(tmp_path: Path, *args: str) -> Iterator[int]:
    port = free_port()
    proc = subprocess.Popen(
        [
            NATS_SERVER,
            "-a",
            "127.0.0.1",
            "-p",
            str(port),
            "-js",
            "-sd",
            str(tmp_path / "js"),
            *args,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield port
    finally:
        proc.terminate()
        proc.wait(timeout=10)


PASSWORD = secrets.token_urlsafe(16)  # made up per run: no credential lives in the tests


@pytest.fixture
def auth_port(tmp_path: Path) -> Iterator[int]:
    """Run a nats-server that requires a user and password."""
    yield from _server(tmp_path, "--user", "pipeline", "--pass", PASSWORD)


@pytest.fixture
def tls_server(tmp_path: Path) -> Iterator[tuple[int, Path]]:
    """Run a nats-server that speaks TLS only, with a self-signed certificate for 127.0.0.1."""
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
    )
    for port in _server(tmp_path, "--tls", "--tlscert", str(cert), "--tlskey", str(key)):
        yield port, cert


def _settings(monkeypatch: pytest.MonkeyPatch, url: str, **env: str) -> PipelineSettings:
    monkeypatch.setenv("NATS_URL", url)
    monkeypatch.setenv("DATABASE_URL", "postgresql://unused@127.0.0.1/unused")
    monkeypatch.setenv("CONNECT_WAIT_S", "3")
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return PipelineSettings()


async def test_user_and_password_from_the_environment(
    auth_port: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With NATS_USER/NATS_PASSWORD set the bus connects and creates its stream."""
    await eventually(lambda: listening(auth_port))
    url = f"nats://127.0.0.1:{auth_port}"
    settings = _settings(monkeypatch, url, NATS_USER="pipeline", NATS_PASSWORD=PASSWORD)
    async with connect(settings, "test") as bus:
        info = await bus.js.stream_info(bus.names.stream)
    assert info.config.name == bus.names.stream


async def test_missing_credentials_give_one_clear_error(
    auth_port: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without credentials the service gets a ConfigError naming the server, never the secret."""
    await eventually(lambda: listening(auth_port))
    settings = _settings(
        monkeypatch,
        f"nats://127.0.0.1:{auth_port}",
        NATS_USER="pipeline",
        NATS_PASSWORD=PASSWORD[::-1],
    )
    with pytest.raises(ConfigError) as caught:
        async with connect(settings, "test"):
            pass
    assert f"127.0.0.1:{auth_port}" in str(caught.value)
    # The server answers -ERR 'Authorization Violation' and closes; under load the client may
    # see the reset first. Either way the line names the failure, never the password.
    assert "Authorization Violation" in str(caught.value) or "reset" in str(caught.value)
    assert PASSWORD[::-1] not in str(caught.value)


async def test_tls_with_a_configured_ca(
    tls_server: tuple[int, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """NATS_TLS_CA makes the bus verify the server's certificate and connect over TLS."""
    port, cert = tls_server
    await eventually(lambda: listening(port))
    settings = _settings(monkeypatch, f"tls://127.0.0.1:{port}", NATS_TLS_CA=str(cert))
    async with connect(settings, "test") as bus:
        assert bus.nc.is_connected
        await bus.js.stream_info(bus.names.stream)
