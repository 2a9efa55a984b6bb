"""How the bus connects and how long it waits before a redelivery: pure functions of settings."""

from __future__ import annotations

import asyncio
import ssl
import subprocess
from pathlib import Path

import pytest

from shared.bus import _options, _tls_context, backoff_s
from shared.settings import PipelineSettings


def test_backoff_doubles_from_one_second_up_to_a_minute() -> None:
    """Redelivery waits 1, 2, 4 ... seconds after each failed delivery, never more than 60."""
    assert [backoff_s(n) for n in range(1, 9)] == [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 60.0, 60.0]
    assert backoff_s(0) == 1.0  # a server that does not count deliveries: the first wait
    assert backoff_s(100) == 60.0


def _settings(monkeypatch: pytest.MonkeyPatch, **env: str) -> PipelineSettings:
    monkeypatch.setenv("DATABASE_URL", "postgresql://unused@127.0.0.1/unused")
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return PipelineSettings()


def _options_of(settings: PipelineSettings) -> dict[str, object]:
    return _options(settings, "svc", [], asyncio.Event())


def test_the_client_reconnects_forever_and_sends_no_credential_unless_given(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Without credentials or TLS settings the client gets none; it reconnects every second
    without end and gives up a first connection after five seconds."""
    options = _options_of(_settings(monkeypatch))
    assert options["name"] == "svc"
    assert options["max_reconnect_attempts"] == -1
    assert options["reconnect_time_wait"] == 1
    assert options["allow_reconnect"] is True
    assert options["connect_timeout"] == 5
    for absent in ("user", "password", "token", "user_credentials", "tls"):
        assert absent not in options


def test_credentials_come_from_the_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """NATS_USER/NATS_PASSWORD, NATS_TOKEN and NATS_CREDS reach the client as given."""
    settings = _settings(
        monkeypatch,
        NATS_USER="pipeline",
        NATS_PASSWORD="pw-from-env",  # noqa: S106 - made up for the test
        NATS_TOKEN="token-from-env",  # noqa: S106 - made up for the test
        NATS_CREDS="/run/secrets/nats.creds",
    )
    options = _options_of(settings)
    assert options["user"] == "pipeline"
    assert options["password"] == "pw-from-env"  # noqa: S105
    assert options["token"] == "token-from-env"  # noqa: S105
    assert options["user_credentials"] == "/run/secrets/nats.creds"
    assert "tls" not in options


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Return a self-signed certificate and its key for 127.0.0.1."""
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1"],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert, key


def test_tls_is_used_only_when_asked_for(
    monkeypatch: pytest.MonkeyPatch, certificate: tuple[Path, Path]
) -> None:
    """No TLS for nats:// without TLS settings; tls:// alone verifies against the system's CAs;
    a CA file is trusted; a client certificate is presented (with its key)."""
    cert, key = certificate
    assert _tls_context(_settings(monkeypatch, NATS_URL="nats://127.0.0.1:4222")) is None

    by_scheme = _tls_context(_settings(monkeypatch, NATS_URL="tls://127.0.0.1:4222"))
    assert isinstance(by_scheme, ssl.SSLContext)
    assert by_scheme.verify_mode == ssl.CERT_REQUIRED
    assert by_scheme.check_hostname is True
    assert _options_of(_settings(monkeypatch, NATS_URL="tls://127.0.0.1:4222"))["tls"] is not None

    with_ca = _tls_context(_settings(monkeypatch, NATS_URL="nats://h:4222", NATS_TLS_CA=str(cert)))
    assert with_ca is not None
    assert [ca["subject"] for ca in with_ca.get_ca_certs()] == [((("commonName", "127.0.0.1"),),)]

    client = _settings(
        monkeypatch, NATS_URL="nats://h:4222", NATS_TLS_CERT=str(cert), NATS_TLS_KEY=str(key)
    )
    context = _tls_context(client)
    assert context is not None
    assert context.verify_mode == ssl.CERT_REQUIRED
    monkeypatch.delenv("NATS_TLS_CA", raising=False)
    monkeypatch.setenv("NATS_TLS_KEY", str(cert))  # a certificate is no key: the load fails
    with pytest.raises(ssl.SSLError):
        _tls_context(PipelineSettings())
