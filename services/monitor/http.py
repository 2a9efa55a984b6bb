"""The monitor's HTTP face: the dashboard at ``/``, ``/healthz``, ``/readyz``, ``/metrics``
(Prometheus), ``/report`` (JSON) and the dashboard's JSON endpoints (``services.monitor.api``).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import structlog
from aiohttp import web
from aiohttp.typedefs import Handler, Middleware
from prometheus_client import CONTENT_TYPE_LATEST

from services.monitor import api, cars_api
from services.monitor.access import Access
from services.monitor.access import add_routes as add_login_routes
from services.monitor.deps import DEPS, HttpDeps
from services.monitor.ranges import parse_range, range_or_400
from services.monitor.report import build_report

log = structlog.get_logger(__name__)

DB_CHECK_TIMEOUT_S = 2.0
STATIC = Path(__file__).parent / "static"
# The dashboard loads only its own files: no inline script, no third-party origin.
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)

__all__ = ["DEPS", "Access", "HttpDeps", "make_app", "parse_range", "serve_http"]


async def healthz(request: web.Request) -> web.Response:
    """Report whether NATS and PostgreSQL are usable; 503 when one is not."""
    deps = request.app[DEPS]
    nats_ok = deps.bus.nc.is_connected
    db_ok = await _database_ok(deps.pool)
    ok = nats_ok and db_ok
    body = {"status": "ok" if ok else "degraded", "nats": nats_ok, "database": db_ok}
    return web.json_response(body, status=200 if ok else 503)


async def readyz(request: web.Request) -> web.Response:
    """Report whether the monitor is ready: healthy, migrated and consuming; 503 until then."""
    deps = request.app[DEPS]
    consuming = deps.ready.is_set()
    nats_ok = deps.bus.nc.is_connected
    db_ok = await _database_ok(deps.pool)
    ok = consuming and nats_ok and db_ok
    body = {
        "status": "ready" if ok else "not_ready",
        "consuming": consuming,
        "nats": nats_ok,
        "database": db_ok,
    }
    return web.json_response(body, status=200 if ok else 503)


async def _database_ok(pool: asyncpg.Pool) -> bool:
    try:
        async with pool.acquire(timeout=DB_CHECK_TIMEOUT_S) as conn:
            await conn.fetchval("SELECT 1", timeout=DB_CHECK_TIMEOUT_S)
    except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
        log.warning("monitor.health_database_failed", error=repr(exc))
        return False
    return True


async def metrics(request: web.Request) -> web.Response:
    """Return the counters in the Prometheus text format."""
    body = request.app[DEPS].metrics.render()
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


async def report(request: web.Request) -> web.Response:
    """Return the pipeline report of ``?date=D`` or ``?from=D&to=D`` (default: today, UTC)."""
    start, end = range_or_400(request.query)
    async with request.app[DEPS].pool.acquire() as conn:
        body = await build_report(conn, start, end)
    return web.json_response(body)


async def dashboard(_request: web.Request) -> web.FileResponse:
    """Return the dashboard page."""
    return web.FileResponse(STATIC / "index.html")


@web.middleware
async def security_headers(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Add a strict Content-Security-Policy and no-sniff to every response."""
    response = await handler(request)
    response.headers.setdefault("Content-Security-Policy", CSP)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    return response


def make_app(deps: HttpDeps, access: Access | None = None) -> web.Application:
    """Return the aiohttp application under ``access`` (default: loopback hosts, no token)."""
    access = access or Access()
    middlewares: list[Middleware] = [security_headers, *access.middlewares()]
    app = web.Application(middlewares=middlewares)
    app[DEPS] = deps
    add_login_routes(app, access)
    app.router.add_get("/", dashboard)
    app.router.add_static("/static/", STATIC, follow_symlinks=False)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics)
    app.router.add_get("/report", report)
    api.add_routes(app)
    cars_api.add_routes(app)
    return app


@contextlib.asynccontextmanager
async def serve_http(
    deps: HttpDeps, host: str, port: int, access: Access | None = None
) -> AsyncIterator[web.AppRunner]:
    """Serve the app on ``host:port`` until exit, then close the site and its connections."""
    runner = web.AppRunner(make_app(deps, access), access_log=None)
    await runner.setup()
    try:
        site = web.TCPSite(runner, host, port)
        await site.start()
        log.info("monitor.http_started", host=host, port=port)
        yield runner
    finally:
        await runner.cleanup()
