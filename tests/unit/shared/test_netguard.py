"""The outbound URL guard: internal addresses are refused unless configuration allows them."""

from __future__ import annotations

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from shared.netguard import BlockedUrlError, UrlPolicy, check_url, guarded_session

STRICT = UrlPolicy()


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/x",
        "http://[::1]/x",
        "http://10.1.2.3/feed",
        "http://192.168.0.10/",
        "http://169.254.169.254/latest/meta-data",
        "http://[::ffff:127.0.0.1]/",
        "file:///etc/passwd",
        "ftp://example.com/x",
        "http:///nohost",
    ],
)
def test_internal_or_odd_urls_are_refused(url: str) -> None:
    """Loopback, private, link-local and mapped addresses, and non-http schemes, are refused."""
    with pytest.raises(BlockedUrlError):
        check_url(url, STRICT)


def test_public_and_allowed_urls_pass() -> None:
    """Public literals, names, and explicitly allowed hosts are let through."""
    assert check_url("https://93.184.215.14/a", STRICT).host == "93.184.215.14"
    assert check_url("https://example.com/a", STRICT).host == "example.com"
    allowed = UrlPolicy(allowed_hosts=frozenset({"127.0.0.1"}))
    assert check_url("http://127.0.0.1:8080/hook", allowed).port == 8080
    assert check_url("http://10.0.0.5/x", UrlPolicy(allow_private=True)).host == "10.0.0.5"


@pytest.fixture
async def local_server() -> TestServer:
    """Serve one page on 127.0.0.1."""

    async def page(_request: web.Request) -> web.Response:
        return web.Response(text="inside")

    app = web.Application()
    app.router.add_get("/", page)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    yield server  # type: ignore[misc]
    await server.close()


async def test_session_refuses_loopback_by_ip_and_by_name(local_server: TestServer) -> None:
    """A guarded session cannot reach a local server, whether named by IP or by 'localhost'."""
    async with guarded_session(STRICT) as session:
        for host in ("127.0.0.1", "localhost"):
            with pytest.raises(BlockedUrlError):
                await session.get(f"http://{host}:{local_server.port}/")


async def test_session_reaches_an_allowed_local_host(local_server: TestServer) -> None:
    """With the host allowed, the same request succeeds."""
    policy = UrlPolicy(allowed_hosts=frozenset({"127.0.0.1"}))
    async with (
        guarded_session(policy) as session,
        session.get(f"http://127.0.0.1:{local_server.port}/") as response,
    ):
        assert await response.text() == "inside"
