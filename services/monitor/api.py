"""JSON endpoints of the dashboard: throughput, recent runs, services, queues, alerts, failed
files and search. Day ranges use ``?date=D`` or ``?from=D&to=D`` like ``/report``.
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass, field
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
MAX_FAILED_FILES = 200  # the most recent files of the day, per request
MAX_FAILED_SCAN = 10_000  # directory entries looked at, per request
MAX_FAILED_READ_BYTES = 4 * 1024 * 1024  # read to count records, per request


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
    and the reason. One request is bounded (the dashboard asks every few seconds): it looks at
    most at ``MAX_FAILED_SCAN`` entries, lists the ``MAX_FAILED_FILES`` most recent files and
    reads at most ``MAX_FAILED_READ_BYTES`` to count records; a file past that budget has
    ``records: null``, and ``truncated`` says the answer is not the whole day.
    """
    start, _ = range_or_400({"date": request.query.get("date", "")})
    root = request.app[DEPS].data_dir
    listing = await asyncio.to_thread(_failed_files, root, start) if root else FailedListing()
    return web.json_response(
        {
            "date": start.isoformat(),
            "files": listing.files,
            "files_total": listing.total,
            "records": sum(f["records"] or 0 for f in listing.files),
            "truncated": listing.truncated,
        }
    )


@dataclass
class FailedListing:
    """The failed files of a day as one request may read them."""

    files: list[dict[str, Any]] = field(default_factory=list)
    total: int = 0
    truncated: bool = False


def _scan(folder: Path, limit: int) -> tuple[list[os.DirEntry[str]], bool]:
    """Return up to ``limit`` files under ``folder`` (no dot files) and whether more were left."""
    found: list[os.DirEntry[str]] = []
    pending, seen = [folder], 0
    while pending:
        with os.scandir(pending.pop()) as entries:
            for entry in entries:
                seen += 1
                if seen > limit:
                    return found, True
                if entry.is_dir(follow_symlinks=False):
                    pending.append(Path(entry.path))
                elif entry.is_file(follow_symlinks=False) and not entry.name.startswith("."):
                    found.append(entry)  # dot files are temporary files of atomic writes
    return found, False


def _failed_files(root: Path, day: date) -> FailedListing:
    folder = root / "failed" / day.isoformat()
    if not folder.is_dir():
        return FailedListing()
    found, cut = _scan(folder, MAX_FAILED_SCAN)
    stats = [(entry, entry.stat(follow_symlinks=False)) for entry in found]
    stats.sort(key=lambda pair: (pair[1].st_mtime_ns, pair[0].path), reverse=True)
    listing = FailedListing(total=len(stats), truncated=cut or len(stats) > MAX_FAILED_FILES)
    budget = MAX_FAILED_READ_BYTES
    for entry, stat in stats[:MAX_FAILED_FILES]:
        path = Path(entry.path)
        entry_out: dict[str, Any] = {
            "kind": path.parent.name,
            "path": str(path.relative_to(root)),
            "records": None,
            "size_bytes": stat.st_size,
        }
        if stat.st_size <= budget:
            budget -= stat.st_size
            try:
                with path.open("rb") as handle:  # read once, up to the size listed
                    data = handle.read(stat.st_size)
            except OSError:  # archived or moved since the scan
                continue
            entry_out["records"] = sum(1 for line in data.splitlines() if line.strip())
            if path.parent.parent.name == "file_errors":
                entry_out.update(_rejection(data))
        else:
            listing.truncated = True
        listing.files.append(entry_out)
    return listing


def _rejection(data: bytes) -> dict[str, Any]:
    """Return the name a rejected file was dropped as, its raw file and the reason."""
    try:
        record = orjson.loads(data)
    except orjson.JSONDecodeError:
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
