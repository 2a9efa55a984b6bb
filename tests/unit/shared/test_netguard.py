"""The outbound URL guard: internal addresses are refused unless configuration allows them."""

from __future__ import annotations

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from shared.netguard import BlockedUrlError, UrlPolicy, check_url, guarded_session

STRICT = UrlPolicy()
LOCALHOST_ONLY = UrlPolicy(allowed_hosts=frozenset({"localhost"}))


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


@pytest.mark.parametrize(
    "url",
    [
        "http://[64:ff9b::7f00:1]/",  # NAT64 of 127.0.0.1
        "http://[64:ff9b::a9fe:a9fe]/latest/meta-data",  # NAT64 of 169.254.169.254
        "http://[64:ff9b:1::a00:1]/",  # local-use NAT64 prefix
        "http://[2002:7f00:1::]/",  # 6to4 of 127.0.0.1
        "http://[2002:c0a8:1::1]/",  # 6to4 of 192.168.0.1
        "http://[::7f00:1]/",  # IPv4-compatible 127.0.0.1
    ],
)
def test_ipv6_forms_of_internal_ipv4_are_refused(url: str) -> None:
    """NAT64, 6to4 and IPv4-compatible forms of an internal IPv4 address are internal too."""
    with pytest.raises(BlockedUrlError):
        check_url(url, STRICT)


def test_ipv6_forms_of_public_ipv4_pass() -> None:
    """The same forms of a public IPv4 address stay public."""
    assert check_url("http://[64:ff9b::808:808]/", STRICT).host == "64:ff9b::808:808"
    assert check_url("http://[2002:808:808::1]/", STRICT).host == "2002:808:808::1"


@pytest.fixture
async def redirector(local_server: TestServer) -> TestServer:
    """Serve redirects to the internal page of ``local_server``, in every form aiohttp follows."""
    inside = f"127.0.0.1:{local_server.port}"

    answers = {
        "/relative": {"Location": f"//{inside}/"},
        "/uri": {"URI": f"//{inside}/"},
        "/uri-literal": {"URI": f"http://{inside}/"},
        "/literal": {"Location": f"http://{inside}/"},
        "/fine": {"Location": "/landing"},
    }

    async def answer(request: web.Request) -> web.Response:
        if request.path == "/landing":
            return web.Response(text="landed")
        return web.Response(status=302, headers=answers[request.path])

    app = web.Application()
    app.router.add_get("/{name}", answer)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    yield server  # type: ignore[misc]
    await server.close()


@pytest.mark.parametrize("path", ["/relative", "/uri", "/uri-literal", "/literal"])
async def test_redirects_to_internal_addresses_are_refused(
    redirector: TestServer, path: str
) -> None:
    """A redirect to an internal address is refused, whatever form its target takes.

    The redirector is reached as ``localhost`` (allowed); 127.0.0.1 itself is not allowed.
    """
    async with guarded_session(LOCALHOST_ONLY) as session:
        with pytest.raises(BlockedUrlError):
            async with session.get(f"http://localhost:{redirector.port}{path}") as response:
                pytest.fail(f"reached {response.url}: {await response.text()!r}")


async def test_a_redirect_within_the_allowed_host_is_followed(redirector: TestServer) -> None:
    """A redirect that stays on an allowed host is followed as usual."""
    async with (
        guarded_session(LOCALHOST_ONLY) as session,
        session.get(f"http://localhost:{redirector.port}/fine") as response,
    ):
        assert await response.text() == "landed"


@pytest.fixture
async def proxy() -> TestServer:
    """A forward proxy on 127.0.0.1 that answers every request itself, naming its target."""

    async def forward(request: web.Request) -> web.Response:
        return web.Response(text=f"via proxy: {request.url}")

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", forward)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    yield server  # type: ignore[misc]
    await server.close()


@pytest.mark.parametrize("target", ["http://127.0.0.1:9/", "http://localhost:9/admin"])
async def test_a_proxied_request_to_an_internal_target_is_refused(
    proxy: TestServer, target: str
) -> None:
    """Through a proxy (which would resolve the name itself) internal targets are still refused."""
    async with guarded_session(STRICT) as session:
        with pytest.raises(BlockedUrlError):
            async with session.get(target, proxy=f"http://127.0.0.1:{proxy.port}") as response:
                pytest.fail(f"the proxy was asked: {await response.text()!r}")


async def test_a_proxied_request_to_an_allowed_target_goes_through(proxy: TestServer) -> None:
    """The configured proxy itself may be internal: an allowed target reaches it."""
    async with (
        guarded_session(LOCALHOST_ONLY) as session,
        session.get("http://localhost:9/page", proxy=f"http://127.0.0.1:{proxy.port}") as response,
    ):
        assert await response.text() == "via proxy: http://localhost:9/page"
