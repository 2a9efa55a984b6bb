"""JSON endpoints of the dashboard: throughput, recent runs, services, queues, alerts, failed
files and search. Day ranges use ``?date=D`` or ``?from=D&to=D`` like ``/report``.
"""

from __future__ import annotations

import asyncio
from datetime import date
from pathlib import Path
from typing import Any

import orjson
from aiohttp import web

from services.importer.search import search as search_records
from services.monitor import queues, stats
from services.monitor.alerts.engine import firing
from services.monitor.deps import DEPS
from services.monitor.ranges import range_or_400
from shared.events import RecordType
from shared.records import is_web_url

MAX_SEARCH_LIMIT = 100
MAX_FAILED_FILES = 500


async def throughput(request: web.Request) -> web.Response:
    """Return records per hour (or day) and stage for the range."""
    start, end = range_or_400(request.query)
    async with request.app[DEPS].pool.acquire() as conn:
        return web.json_response(await stats.throughput(conn, start, end))


async def recent(request: web.Request) -> web.Response:
    """Return the latest scrape runs with their files, and the latest collected files."""
    limit = _int(request.query.get("limit"), 20, 1, 200)
    async with request.app[DEPS].pool.acquire() as conn:
        return web.json_response(await stats.recent(conn, limit))


async def services(request: web.Request) -> web.Response:
    """Return every service seen by its heartbeats: instances, last seen, stale."""
    beats = request.app[DEPS].heartbeats
    return web.json_response({"services": beats.services() if beats else {}})


async def queue_lag(request: web.Request) -> web.Response:
    """Return JetStream consumer lag and dead-letter depth now."""
    return web.json_response(await queues.snapshot(request.app[DEPS].bus))


async def alerts(request: web.Request) -> web.Response:
    """Return the alerts firing now."""
    async with request.app[DEPS].pool.acquire() as conn:
        return web.json_response({"firing": await firing(conn)})


async def failed(request: web.Request) -> web.Response:
    """Return the failed-record files of ``?date=D`` (default today): kind, name, records.

    A rejected file's entry also names the file as dropped (``original_name``), its raw file
    and the reason.
    """
    start, _ = range_or_400({"date": request.query.get("date", "")})
    root = request.app[DEPS].data_dir
    files = await asyncio.to_thread(_failed_files, root, start) if root else []
    return web.json_response(
        {
            "date": start.isoformat(),
            "files": files,
            "records": sum(f["records"] for f in files),
        }
    )


def _failed_files(root: Path, day: date) -> list[dict[str, Any]]:
    folder = root / "failed" / day.isoformat()
    out: list[dict[str, Any]] = []
    if not folder.is_dir():
        return out
    for path in sorted(p for p in folder.rglob("*") if p.is_file())[:MAX_FAILED_FILES]:
        if path.name.startswith("."):
            continue  # temporary files of atomic writes
        with path.open("rb") as handle:
            records = sum(1 for line in handle if line.strip())
        entry: dict[str, Any] = {
            "kind": path.parent.name,
            "path": str(path.relative_to(root)),
            "records": records,
            "size_bytes": path.stat().st_size,
        }
        if path.parent.parent.name == "file_errors":
            entry.update(_rejection(path))
        out.append(entry)
    return out


def _rejection(path: Path) -> dict[str, Any]:
    """Return the name a rejected file was dropped as, its raw file and the reason."""
    try:
        record = orjson.loads(path.read_bytes())
    except (OSError, orjson.JSONDecodeError):
        return {}
    if not isinstance(record, dict):
        return {}
    return {key: record.get(key) for key in ("original_name", "raw_file", "reason")}


async def search(request: web.Request) -> web.Response:
    """Search one record type: ``?q=text&type=vehicles|events|articles&limit=N``."""
    query = request.query.get("q", "").strip()
    try:
        record_type = RecordType(request.query.get("type", RecordType.VEHICLES.value))
    except ValueError:
        raise web.HTTPBadRequest(text="type must be vehicles, events or articles") from None
    limit = _int(request.query.get("limit"), 20, 1, MAX_SEARCH_LIMIT)
    if not query:
        return web.json_response({"query": query, "type": record_type.value, "results": []})
    async with request.app[DEPS].pool.acquire() as conn:
        rows = await search_records(conn, query, record_type, limit)
    return web.json_response(
        {"query": query, "type": record_type.value, "results": [_safe_links(r) for r in rows]},
        dumps=_dumps,
    )


URL_COLUMNS = ("source_url", "url")


def _safe_links(row: dict[str, Any]) -> dict[str, Any]:
    """Serve a URL column only when it is http(s); any other scheme (``javascript:``) as null.

    Records keep URLs as given (the seed's contract accepts any URL); what leaves here may be
    put in a link by whoever reads it.
    """
    for column in URL_COLUMNS:
        value = row.get(column)
        if isinstance(value, str) and not is_web_url(value):
            row[column] = None
    return row


def _dumps(value: Any) -> str:
    return orjson.dumps(value, default=str).decode()


def _int(value: str | None, default: int, low: int, high: int) -> int:
    try:
        number = int(value) if value else default
    except ValueError:
        raise web.HTTPBadRequest(text=f"not an integer: {value!r}") from None
    return max(low, min(high, number))


def add_routes(app: web.Application) -> None:
    """Register the dashboard's JSON endpoints."""
    app.router.add_get("/api/throughput", throughput)
    app.router.add_get("/api/recent", recent)
    app.router.add_get("/api/services", services)
    app.router.add_get("/api/queues", queue_lag)
    app.router.add_get("/api/alerts", alerts)
    app.router.add_get("/api/failed", failed)
    app.router.add_get("/search", search)
