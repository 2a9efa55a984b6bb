"""The opt-in online geocoder (Nominatim, or any geopy geocoder) behind a cache and a rate limit.

``CachedGeocoder`` puts a geopy geocoder behind a rate limit and a persistent cache table
(``processor_geocache``). Only answers are cached: a place found, or a place the geocoder says
does not exist. A failed lookup (network error, timeout, HTTP error) is retried once, then logged
as ``geocode.failed``; the record gets ``{"found": false, "failed": true}`` and is never failed
for it, and the query stays uncached, so the next file that names the place asks again. The
number of failed lookups of a file is ``geocode_failures`` in its ``BatchProcessed`` event. The
default, offline geocoder is ``gazetteer.OfflineGazetteer``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any, Protocol

import asyncpg
import structlog
from geopy.extra.rate_limiter import RateLimiter
from geopy.location import Location

from .gazetteer import found_entry

log = structlog.get_logger(__name__)


class Geocoder(Protocol):
    """The part of geopy's geocoder interface used here."""

    def geocode(self, query: str) -> Location | None:
        """Return the location of a place query, or None."""


def failed_entry(query: str, geocoder: str) -> dict[str, Any]:
    """Return the enrichment entry of a lookup that got no answer (the geocoder failed)."""
    return {"found": False, "failed": True, "query": query, "geocoder": geocoder}


def count_failed(entries: Iterable[dict[str, Any]]) -> int:
    """Return how many lookup entries are failures (``failed_entry``)."""
    return sum(1 for entry in entries if entry.get("failed"))


class _Failed:
    """The outcome of a lookup that raised: not an answer, so not cached."""


FAILED = _Failed()


def geo_entry(location: Location | None, query: str, geocoder: str) -> dict[str, Any]:
    """Return the enrichment entry of a lookup (coordinates or ``found: false``) with provenance."""
    if location is None:
        return {"found": False, "query": query, "geocoder": geocoder}
    return found_entry(location.latitude, location.longitude, query, geocoder)


class CachedGeocoder:
    """An online geopy geocoder behind a rate limit and the ``processor_geocache`` table."""

    def __init__(
        self, geocoder: Geocoder, name: str, min_delay_s: float = 1.0, error_wait_s: float = 2.0
    ) -> None:
        """Wrap ``geocoder`` (called at most once per ``min_delay_s``), cached under ``name``.

        A lookup that raises is tried once more after ``error_wait_s``; geopy's rate limiter
        then lets the error through (``swallow_exceptions=False``) instead of answering None,
        which would read as "no such place".
        """
        self.name = name
        self.geocoder = geocoder
        self._geocode = RateLimiter(
            geocoder.geocode,
            min_delay_seconds=min_delay_s,
            max_retries=1,
            error_wait_seconds=error_wait_s,
            swallow_exceptions=False,
        )

    async def lookup(self, conn: asyncpg.Connection, queries: set[str]) -> dict[str, Any]:
        """Return an enrichment entry per query: cached answers first, then the geocoder.

        A query whose lookup failed gets ``failed_entry`` and is not cached.
        """
        rows = await conn.fetch(
            "SELECT query, latitude, longitude FROM processor_geocache "
            "WHERE geocoder = $1 AND query = ANY($2::text[])",
            self.name,
            sorted(queries),
        )
        found = {row["query"]: _cached(row, self.name) for row in rows}
        for query in sorted(queries - found.keys()):
            location = await asyncio.to_thread(self._safe_geocode, query)
            if isinstance(location, _Failed):
                found[query] = failed_entry(query, self.name)
                continue
            found[query] = geo_entry(location, query, self.name)
            point = (location.latitude, location.longitude) if location else (None, None)
            await conn.execute(
                "INSERT INTO processor_geocache (geocoder, query, latitude, longitude) "
                "VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
                self.name,
                query,
                *point,
            )
        return found

    def _safe_geocode(self, query: str) -> Location | _Failed | None:
        try:
            location: Location | None = self._geocode(query)
        except Exception as exc:  # noqa: BLE001 - a geocoder failure only delays the coordinates
            log.warning("geocode.failed", geocoder=self.name, query=query, error=repr(exc))
            return FAILED
        return location


def _cached(row: asyncpg.Record, name: str) -> dict[str, Any]:
    if row["latitude"] is None:
        return {"found": False, "query": row["query"], "geocoder": name, "cached": True}
    entry = found_entry(row["latitude"], row["longitude"], row["query"], name)
    return {**entry, "cached": True}
