"""Who may use the monitor over HTTP: the token, the browser's login, the Host allowlist."""

from __future__ import annotations

import os
import secrets
import ssl
import subprocess
import sys
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from pydantic import SecretStr, ValidationError

from services.monitor.access import TOKEN_COOKIE, Access, allowed_hosts
from services.monitor.config import MonitorSettings
from services.monitor.http import make_app
from services.monitor.metrics import PipelineMetrics
from tests.pgtls import make_ca, make_server_cert

TOKEN = secrets.token_urlsafe(24)  # made up per run


class _Deps:
    """Just enough of HttpDeps for /metrics and the middleware."""

    def __init__(self) -> None:
        self.metrics = PipelineMetrics()


async def _client(access: Access) -> TestClient:
    app: web.Application = make_app(_Deps(), access)  # type: ignore[arg-type]
    client = TestClient(TestServer(app))
    await client.start_server()
    return client


@pytest.fixture
async def client() -> Any:
    """Serve the monitor app with a token, without NATS or PostgreSQL behind it."""
    test_client = await _client(Access(SecretStr(TOKEN), allowed_hosts("127.0.0.1", "")))
    yield test_client
    await test_client.close()


async def test_requests_without_the_token_are_refused(client: TestClient) -> None:
    """/metrics and /api/* answer 401 without the token and 200 with the bearer token."""
    for path in ("/metrics", "/api/services", "/report", "/search"):
        refused = await client.get(path)
        assert refused.status == 401, path
    wrong = await client.get("/metrics", headers={"Authorization": "Bearer nope"})
    assert wrong.status == 401
    other_scheme = await client.get("/metrics", headers={"Authorization": f"Basic {TOKEN}"})
    assert other_scheme.status == 401
    allowed = await client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert allowed.status == 200
    assert allowed.headers["Content-Security-Policy"].startswith("default-src 'none'")
    assert refused.headers["Content-Security-Policy"].startswith("default-src 'none'")


async def test_browser_signs_in_by_form_and_gets_a_strict_cookie(client: TestClient) -> None:
    """/ sends a browser to /login; posting the token sets an HttpOnly, SameSite=Strict cookie
    (not Secure over plain http) and redirects to a URL without the token."""
    first = await client.get("/", allow_redirects=False)
    assert (first.status, first.headers["Location"]) == (303, "/login")
    page = await client.get("/login")
    assert page.status == 200
    assert 'name="token"' in await page.text()
    wrong = await client.post("/login", data={"token": "nope"}, allow_redirects=False)
    assert wrong.status == 401
    assert TOKEN_COOKIE not in wrong.cookies
    response = await client.post("/login", data={"token": TOKEN}, allow_redirects=False)
    assert (response.status, response.headers["Location"]) == (303, "/")
    cookie = response.cookies[TOKEN_COOKIE]
    assert cookie["httponly"]
    assert cookie["samesite"] == "Strict"
    assert not cookie["secure"]
    follow = await client.get("/metrics")
    assert follow.status == 200
    dashboard = await client.get("/")
    assert dashboard.status == 200


async def test_token_in_the_url_is_not_accepted(client: TestClient) -> None:
    """/?token= no longer signs a browser in: a token never has to travel in a URL."""
    response = await client.get(f"/?token={TOKEN}", allow_redirects=False)
    assert (response.status, response.headers["Location"]) == (303, "/login")
    assert TOKEN_COOKIE not in response.cookies
    assert (await client.get(f"/metrics?token={TOKEN}")).status == 401


async def test_cookie_is_secure_when_the_setting_says_so() -> None:
    """MONITOR_COOKIE_SECURE (TLS ends at a reverse proxy) marks the cookie Secure."""
    secure = await _client(Access(SecretStr(TOKEN), allowed_hosts("127.0.0.1", ""), True))
    try:
        response = await secure.post("/login", data={"token": TOKEN}, allow_redirects=False)
        assert response.status == 303
        assert response.cookies[TOKEN_COOKIE]["secure"]
    finally:
        await secure.close()


async def test_a_foreign_host_header_is_refused(client: TestClient) -> None:
    """A request naming another host (DNS rebinding) gets 421 even with the token; loopback
    names on any port pass, and so does a name from MONITOR_ALLOWED_HOSTS."""
    bearer = {"Authorization": f"Bearer {TOKEN}"}
    for host in ("attacker.example:8080", "attacker.example", "127.0.0.1.attacker.example"):
        response = await client.get("/metrics", headers={**bearer, "Host": host})
        assert response.status == 421, host
    for host in ("localhost:8080", "127.0.0.1:18080", "[::1]:8080", "LOCALHOST"):
        response = await client.get("/metrics", headers={**bearer, "Host": host})
        assert response.status == 200, host
    proxied = await _client(Access(None, allowed_hosts("0.0.0.0", "monitor.example.org")))  # noqa: S104
    try:
        ok = await proxied.get("/metrics", headers={"Host": "monitor.example.org"})
        assert ok.status == 200
        refused = await proxied.get("/metrics", headers={"Host": "other.example.org"})
        assert refused.status == 421
    finally:
        await proxied.close()


async def test_cookie_is_secure_over_https(tmp_path: Path) -> None:
    """Signed in over https, the cookie is Secure without any setting."""
    ca = make_ca(tmp_path, "ca")
    cert, key = make_server_cert(tmp_path, ca, "127.0.0.1")
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_ctx.load_cert_chain(cert, key)
    client_ctx = ssl.create_default_context(cafile=str(ca[0]))
    app = make_app(_Deps(), Access(SecretStr(TOKEN), allowed_hosts("127.0.0.1", "")))  # type: ignore[arg-type]
    server = TestServer(app)
    await server.start_server(ssl=server_ctx)
    try:
        async with aiohttp.ClientSession() as http:
            response = await http.post(
                server.make_url("/login"),
                data={"token": TOKEN},
                allow_redirects=False,
                ssl=client_ctx,
            )
            assert (response.status, str(response.url).startswith("https://")) == (303, True)
            assert response.cookies[TOKEN_COOKIE]["secure"]
    finally:
        await server.close()


def test_allowed_hosts_add_the_bound_address_and_the_setting() -> None:
    """A specific bound address is allowed; a wildcard bind adds nothing; ports are ignored."""
    assert "192.0.2.10" in allowed_hosts("192.0.2.10", "")
    assert allowed_hosts("0.0.0.0", "") == allowed_hosts("127.0.0.1", "")  # noqa: S104
    assert {"proxy.example", "monitor"} <= allowed_hosts("::", "Proxy.Example:443, monitor")


def test_short_token_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    """A token shorter than 16 characters is a configuration error."""
    monkeypatch.setenv("DATABASE_URL", "postgresql://monitor@127.0.0.1/none")
    monkeypatch.setenv("MONITOR_API_TOKEN", "short")
    with pytest.raises(ValidationError, match="at least 16"):
        MonitorSettings()


def test_a_reachable_bind_without_a_token_refuses_to_start(tmp_path: Path) -> None:
    """`python -m services.monitor` on 0.0.0.0 without MONITOR_API_TOKEN exits 2 with one line
    on stderr naming both settings, before it connects to anything."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("MONITOR_", "DATABASE_URL"))
    }
    env.update(
        {
            "DATABASE_URL": "postgresql://monitor@127.0.0.1:1/none",
            "NATS_URL": "nats://127.0.0.1:1",
            "MONITOR_HOST": "0.0.0.0",  # noqa: S104
            "DATA_DIR": str(tmp_path),
        }
    )
    result = subprocess.run(
        [sys.executable, "-m", "services.monitor"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "MONITOR_HOST=0.0.0.0" in lines[0]
    assert "MONITOR_API_TOKEN" in lines[0]


def test_a_reachable_bind_with_a_token_is_accepted(monkeypatch: pytest.MonkeyPatch) -> None:
    """0.0.0.0 (compose: the port is published on the host's loopback) is fine with a token."""
    monkeypatch.setenv("DATABASE_URL", "postgresql://monitor@127.0.0.1/none")
    monkeypatch.setenv("MONITOR_HOST", "0.0.0.0")  # noqa: S104
    monkeypatch.setenv("MONITOR_API_TOKEN", TOKEN)
    monkeypatch.setenv("MONITOR_ALLOWED_HOSTS", "monitor")
    access = MonitorSettings().access()
    assert access.token is not None
    assert {"localhost", "127.0.0.1", "::1", "monitor"} == access.hosts
