"""Who may use the monitor's HTTP face: the Host allowlist, the token and the browser's login.

- **Host.** Every request but the health checks must name an allowed host in its ``Host``
  header (loopback names, the bound address, ``MONITOR_ALLOWED_HOSTS``); anything else is
  answered 421. A web page the operator visits cannot then reach the monitor by DNS rebinding:
  its requests carry the page's own host name.
- **Token.** With ``MONITOR_API_TOKEN`` set, every request but the health checks, the login page
  and the static files needs it: ``Authorization: Bearer <token>`` (scripts, Prometheus) or the
  cookie the login sets. A browser without it is sent to ``/login``; anything else gets 401.
- **Login.** ``POST /login`` with the token in the form body sets an HttpOnly, SameSite=Strict
  cookie (Secure over https, or with ``MONITOR_COOKIE_SECURE``) and redirects to ``/``: the
  token is never part of a URL, so it stays out of history, logs and Referer headers.
"""

from __future__ import annotations

import hmac
import ipaddress
from dataclasses import dataclass, field
from pathlib import Path

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware
from pydantic import SecretStr

STATIC = Path(__file__).parent / "static"
TOKEN_COOKIE = "pipeline_token"  # noqa: S105 - the cookie's name, not a secret
LOGIN_PATH = "/login"
OPEN_PATHS = frozenset({"/healthz", "/readyz"})
PUBLIC_PATHS = OPEN_PATHS | {LOGIN_PATH}
PUBLIC_PREFIX = "/static/"  # the page's own code and style: no data
LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})
WILDCARD_BINDS = frozenset({"", "0.0.0.0", "::"})  # noqa: S104 - names, not a bind
COOKIE_MAX_AGE_S = 7 * 24 * 3600


def host_name(value: str | None) -> str | None:
    """Return the lower-case host of a ``Host`` header (``name``, ``name:port``, ``[v6]:port``)."""
    if not value:
        return None
    value = value.strip().lower()
    if value.startswith("["):
        end = value.find("]")
        return value[1:end] if end > 0 else None
    if value.count(":") > 1:  # a bare IPv6 address
        return value
    return value.partition(":")[0] or None


def is_loopback(host: str) -> bool:
    """Return whether binding to ``host`` keeps the port on this machine."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def allowed_hosts(bind: str, extra: str) -> frozenset[str]:
    """Return the host names requests may name: loopback, the bound address, and ``extra``."""
    names = set(LOOPBACK_NAMES)
    if bind not in WILDCARD_BINDS:
        names.add(bind.lower())
    names.update(n for n in (host_name(item) for item in extra.split(",")) if n)
    return frozenset(names)


@dataclass(frozen=True)
class Access:
    """The HTTP access policy: an optional token, the allowed hosts, the cookie's Secure flag."""

    token: SecretStr | None = None
    hosts: frozenset[str] = field(default=LOOPBACK_NAMES)
    cookie_secure: bool = False

    def matches(self, candidate: str | None) -> bool:
        """Return whether ``candidate`` is the token (constant time)."""
        if self.token is None or not candidate:
            return False
        return hmac.compare_digest(candidate.encode(), self.token.get_secret_value().encode())

    def middlewares(self) -> list[Middleware]:
        """Return the middlewares that apply the policy, the Host check first."""
        checks = [check_host(self.hosts)]
        if self.token is not None:
            checks.append(require_token(self))
        return checks


def check_host(hosts: frozenset[str]) -> Middleware:
    """Return a middleware that answers 421 to a request naming a host not in ``hosts``."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path in OPEN_PATHS or host_name(request.headers.get("Host")) in hosts:
            return await handler(request)
        return web.json_response(
            {"error": "unknown Host header; add the name to MONITOR_ALLOWED_HOSTS"}, status=421
        )

    return middleware


def require_token(access: Access) -> Middleware:
    """Return a middleware that asks for the token as a bearer header or the login cookie."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path in PUBLIC_PATHS or request.path.startswith(PUBLIC_PREFIX):
            return await handler(request)
        authorization = request.headers.get("Authorization", "")
        scheme, _, bearer = authorization.partition(" ")
        if (scheme.lower() == "bearer" and access.matches(bearer.strip())) or access.matches(
            request.cookies.get(TOKEN_COOKIE)
        ):
            return await handler(request)
        if request.path == "/" and request.method == "GET":
            raise web.HTTPSeeOther(LOGIN_PATH)
        return web.json_response({"error": "a valid token is required"}, status=401)

    return middleware


async def login_page(_request: web.Request) -> web.FileResponse:
    """Return the login form."""
    return web.FileResponse(STATIC / "login.html")


async def login(request: web.Request) -> web.StreamResponse:
    """Exchange the token of the form for the cookie, then redirect to the dashboard."""
    access: Access = request.app[ACCESS]
    form = await request.post()
    token = form.get("token")
    if not isinstance(token, str) or not access.matches(token.strip()):
        return web.FileResponse(STATIC / "login.html", status=401)
    response = web.Response(status=303, headers={"Location": "/"})
    response.set_cookie(
        TOKEN_COOKIE,
        token.strip(),
        httponly=True,
        samesite="Strict",
        secure=access.cookie_secure or request.secure,
        max_age=COOKIE_MAX_AGE_S,
        path="/",
    )
    return response


ACCESS = web.AppKey("access", Access)


def add_routes(app: web.Application, access: Access) -> None:
    """Register the login routes and keep the policy where the login handler finds it."""
    app[ACCESS] = access
    app.router.add_get(LOGIN_PATH, login_page)
    app.router.add_post(LOGIN_PATH, login)
