"""Cars: the cluster of a canonical listing and the listings linked to it, and its story.

A car is identified by its canonical listing (``car_id`` its row id, ``car_hash`` its data hash);
a listing whose ``canonical_hash`` is empty, or names a listing not in the table, is its own
car's canonical. Clearing a listing's ``canonical_hash`` moves it out of the car at once: nothing
here is stored, every answer is read from ``vehicles`` and ``vehicle_observations``.

The story of a car is its listings' observations in time order, as events: ``listed`` (a
listing's first observation), ``relisted`` (a listing's first observation after the car was seen
on another site), ``price_change`` (a listing seen at another price than its previous
observation) and ``seen``. The signals are computed from those events (``signals``), in one
place for the CLI, the JSON endpoint and the page; the SQL view ``car_observations`` gives
analysts the same rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from itertools import pairwise
from typing import Any

import asyncpg
import orjson

DAY_S = 86_400
MAX_ID = 2**63 - 1  # bigserial

_CAR_OF = (
    "SELECT coalesce(canon.data_hash, v.data_hash) AS car_hash FROM vehicles AS v "
    "LEFT JOIN vehicles AS canon ON canon.data_hash = v.canonical_hash "
)
FIND_BY_ID_SQL = _CAR_OF + "WHERE v.id = $1"
FIND_BY_URL_SQL = _CAR_OF + "WHERE v.source_url = $1 ORDER BY v.updated_at DESC, v.id LIMIT 1"
_MEMBERS = (  # the listings of car $1: served by the key's and the link's indexes
    "SELECT * FROM vehicles WHERE data_hash = $1 "
    "UNION ALL SELECT * FROM vehicles WHERE canonical_hash = $1 AND data_hash <> $1 "
    "AND EXISTS (SELECT 1 FROM vehicles WHERE data_hash = $1)"
)
OBSERVATIONS_SQL = f"""
SELECT v.id AS listing_id, v.data_hash, v.source_name AS site, v.source_url AS url,
       v.price AS current_price, v.year, v.make, v.model, v.canonical_hash, v.match_score,
       v.enrichment -> 'market' AS market, o.observed_at, o.price, o.batch_id
FROM ({_MEMBERS}) AS v LEFT JOIN vehicle_observations AS o ON o.data_hash = v.data_hash
ORDER BY o.observed_at NULLS LAST, v.id, o.batch_id
"""
SUMMARY_SQL = """
WITH hit AS (
    SELECT v.id, coalesce(canon.id, v.id) AS car_id,
           coalesce(canon.data_hash, v.data_hash) AS car_hash
    FROM vehicles AS v LEFT JOIN vehicles AS canon ON canon.data_hash = v.canonical_hash
    WHERE v.id = ANY($1::bigint[])
)
SELECT hit.id, hit.car_id, hit.car_hash, count(*) AS listings,
       count(DISTINCT m.source_name) AS sites, min(coalesce(seen.price, m.price)) AS lowest_price
FROM hit CROSS JOIN LATERAL (
    SELECT data_hash, source_name, price FROM vehicles WHERE data_hash = hit.car_hash
    UNION ALL
    SELECT data_hash, source_name, price FROM vehicles
    WHERE canonical_hash = hit.car_hash AND data_hash <> hit.car_hash
) AS m
LEFT JOIN LATERAL (  -- the listing's price at its latest observation
    SELECT o.price FROM vehicle_observations AS o WHERE o.data_hash = m.data_hash
    ORDER BY o.observed_at DESC, o.price LIMIT 1
) AS seen ON true
GROUP BY hit.id, hit.car_id, hit.car_hash
"""


async def find(conn: asyncpg.Connection, ref: str) -> str | None:
    """Return the car hash of a listing given by its id or its URL; None if there is none."""
    ref = ref.strip()
    if ref.isdigit():
        if int(ref) > MAX_ID:
            return None
        found = await conn.fetchval(FIND_BY_ID_SQL, int(ref))
    else:
        found = await conn.fetchval(FIND_BY_URL_SQL, ref)
    return str(found) if found is not None else None


async def summaries(conn: asyncpg.Connection, listing_ids: list[int]) -> dict[int, dict[str, Any]]:
    """Return, per listing id, its car's id, hash, listing and site counts and lowest price."""
    rows = await conn.fetch(SUMMARY_SQL, listing_ids)
    return {row["id"]: {k: v for k, v in dict(row).items() if k != "id"} for row in rows}


@dataclass(frozen=True)
class Event:
    """One observation of one listing, read as a step of the car's story."""

    at: datetime
    kind: str  # listed | relisted | price_change | seen
    listing_id: int
    site: str
    price: Decimal | None
    previous_price: Decimal | None  # price_change: the listing's; relisted: the other site's
    previous_site: str | None = None


async def load(conn: asyncpg.Connection, car_hash: str) -> dict[str, Any] | None:
    """Return the car: its listings (site, URL, first and last seen, prices), story and signals."""
    rows = [dict(r) for r in await conn.fetch(OBSERVATIONS_SQL, car_hash)]
    if not rows:
        return None
    events = story(rows)
    listings = _listings(rows)
    canonical = next(item for item in listings if item["data_hash"] == car_hash)
    return {
        "car_id": canonical["listing_id"],
        "car_hash": car_hash,
        "year": canonical["year"],
        "make": canonical["make"],
        "model": canonical["model"],
        "signals": signals(events, listings),
        "listings": listings,
        "timeline": [_event_json(e) for e in events],
    }


def story(rows: list[dict[str, Any]]) -> list[Event]:
    """Return the observations (in time order) as events of the car's story.

    A listing's first observation is ``relisted`` when the car was seen earlier on another
    site (``previous_site``/``previous_price``: the latest observation on another site before it).
    """
    last: dict[int, Decimal | None] = {}  # listing -> its previous observed price
    events: list[Event] = []
    for row in rows:
        at, listing, site, price = row["observed_at"], row["listing_id"], row["site"], row["price"]
        if at is None:
            continue
        if listing in last:
            kind = "seen" if last[listing] == price else "price_change"
            event = Event(at, kind, listing, site, price, last[listing])
        else:
            other = next((e for e in reversed(events) if e.site != site and e.at < at), None)
            if other is None:
                event = Event(at, "listed", listing, site, price, None)
            else:
                event = Event(at, "relisted", listing, site, price, other.price, other.site)
        last[listing] = price
        events.append(event)
    return events


def signals(events: list[Event], listings: list[dict[str, Any]]) -> dict[str, Any]:
    """Return days on market, price changes, relistings, lowest price and market position."""
    if not events:
        return {"sites": len({item["site"] for item in listings}), "listings": len(listings)}
    first, last = events[0], max(events, key=lambda e: e.at)
    asks = [e for e in events if e.kind != "seen"]  # each time an asking price was set
    changes = sum(1 for a, b in pairwise(asks) if a.price != b.price)
    latest = min((e.price for e in events if e.at == last.at and e.price is not None), default=None)
    prices = [item["price"] for item in listings if item["price"] is not None]
    lowest = min(prices, default=None)
    return {
        "listings": len(listings),
        "sites": len({item["site"] for item in listings}),
        "first_seen": first.at,
        "last_seen": last.at,
        "days_on_market": _days(first.at, last.at),
        "lowest_price": lowest,
        "price_changes": {
            "count": changes,
            "first": first.price,
            "latest": latest,
            "change_pct": _pct(first.price, latest),
        },
        "relisted": [
            {
                "listing_id": e.listing_id,
                "site": e.site,
                "at": e.at,
                "price": e.price,
                "previous_site": e.previous_site,
                "previous_price": e.previous_price,
                "change_pct": _pct(e.previous_price, e.price),
                "days_after_first_seen": _days(first.at, e.at),
            }
            for e in events
            if e.kind == "relisted"
        ],
        "market": _market(listings, lowest),
    }


def _market(listings: list[dict[str, Any]], lowest: Decimal | None) -> dict[str, Any] | None:
    """Return the market context of the most recently seen listing, and the lowest price's gap."""
    seen = [item for item in listings if item["market"] and item["last_seen"] is not None]
    if not seen:
        return None
    market = dict(max(seen, key=lambda item: (item["last_seen"], item["listing_id"]))["market"])
    median = market.get("median")
    if lowest is not None and isinstance(median, int | float) and median > 0:
        market["lowest_vs_median_pct"] = _pct(Decimal(str(median)), lowest)
    return market


def _listings(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Return one entry per listing: site, URL, first and last seen, price and its history."""
    out: dict[int, dict[str, Any]] = {}
    for row in rows:
        item = out.get(row["listing_id"])
        if item is None:
            item = out[row["listing_id"]] = {
                "listing_id": row["listing_id"],
                "data_hash": row["data_hash"],
                "site": row["site"],
                "url": row["url"],
                "year": row["year"],
                "make": row["make"],
                "model": row["model"],
                "price": row["current_price"],
                "canonical_hash": row["canonical_hash"],
                "match_score": row["match_score"],
                "market": _json(row["market"]),
                "first_seen": row["observed_at"],
                "last_seen": row["observed_at"],
                "observations": [],
            }
        if row["observed_at"] is None:
            continue
        # Rows come in time order: the listing's price now is the one it was last seen at
        # (its row holds the last one imported, which a late re-drive of an old file sets).
        item["price"], item["last_seen"] = row["price"], row["observed_at"]
        item["observations"].append(
            {"observed_at": row["observed_at"], "price": row["price"], "batch_id": row["batch_id"]}
        )
    return sorted(
        out.values(), key=lambda i: (i["first_seen"] is None, i["first_seen"], i["listing_id"])
    )


def _json(value: Any) -> Any:
    """Return a jsonb value as Python (asyncpg gives jsonb as text by default)."""
    return orjson.loads(value) if isinstance(value, str) else value


def _event_json(event: Event) -> dict[str, Any]:
    return {
        "at": event.at,
        "kind": event.kind,
        "listing_id": event.listing_id,
        "site": event.site,
        "price": event.price,
        "previous_price": event.previous_price,
        "previous_site": event.previous_site,
    }


def _days(start: datetime, end: datetime) -> float:
    return round((end - start).total_seconds() / DAY_S, 1)


def _pct(before: Decimal | None, after: Decimal | None) -> float | None:
    if before is None or after is None or before == 0:
        return None
    return round(float((after - before) / before * 100), 1)


def to_json(car: dict[str, Any]) -> str:
    """Return a car as JSON text: prices as decimal strings, moments in ISO 8601."""
    return orjson.dumps(car, default=str).decode()
