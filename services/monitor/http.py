"""The monitor's HTTP face: ``/healthz``, ``/metrics`` (Prometheus) and ``/report`` (JSON)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from datetime import date

import asyncpg
import structlog
from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST

from services.monitor.metrics import PipelineMetrics
from services.monitor.report import build_report
from shared.bus import Bus
from shared.events import utcnow

log = structlog.get_logger(__name__)

DB_CHECK_TIMEOUT_S = 2.0


@dataclass(frozen=True)
class HttpDeps:
    """What the HTTP handlers read."""

    bus: Bus
    pool: asyncpg.Pool
    metrics: PipelineMetrics


DEPS = web.AppKey("deps", HttpDeps)


async def healthz(request: web.Request) -> web.Response:
    """Report whether NATS and PostgreSQL are usable; 503 when one is not."""
    deps = request.app[DEPS]
    nats_ok = deps.bus.nc.is_connected
    db_ok = await _database_ok(deps.pool)
    ok = nats_ok and db_ok
    body = {"status": "ok" if ok else "degraded", "nats": nats_ok, "database": db_ok}
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
    try:
        start, end = parse_range(request.query)
    except ValueError as exc:
        return web.json_response({"error": str(exc)}, status=400)
    async with request.app[DEPS].pool.acquire() as conn:
        body = await build_report(conn, start, end)
    return web.json_response(body)


def parse_range(query: Mapping[str, str]) -> tuple[date, date]:
    """Return the inclusive day range of ``date=D``, or ``from=D&to=D`` (``to`` defaults to today).

    Raises:
        ValueError: a date is not ``YYYY-MM-DD``, or ``from`` is after ``to``.
    """
    if query.get("date"):
        day = _day(query["date"], utcnow().date())
        return day, day
    end = _day(query.get("to"), utcnow().date())
    start = _day(query.get("from"), end)
    if start > end:
        msg = f"from {start} is after to {end}"
        raise ValueError(msg)
    return start, end


def _day(value: str | None, default: date) -> date:
    if not value:
        return default
    try:
        return date.fromisoformat(value)
    except ValueError:
        msg = f"not a YYYY-MM-DD date: {value!r}"
        raise ValueError(msg) from None


def make_app(deps: HttpDeps) -> web.Application:
    """Return the aiohttp application."""
    app = web.Application()
    app[DEPS] = deps
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics)
    app.router.add_get("/report", report)
    return app


@contextlib.asynccontextmanager
async def serve_http(deps: HttpDeps, host: str, port: int) -> AsyncIterator[web.AppRunner]:
    """Serve the app on ``host:port`` until exit, then close the site and its connections."""
    runner = web.AppRunner(make_app(deps), access_log=None)
    await runner.setup()
    try:
        site = web.TCPSite(runner, host, port)
        await site.start()
        log.info("monitor.http_started", host=host, port=port)
        yield runner
    finally:
        await runner.cleanup()
