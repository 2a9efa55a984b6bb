"""Market context of a vehicle: where its asking price sits among comparable known listings.

Comparables are known vehicles of the same make and model key within two model years. Their
prices are read from the known index once per (make, model key, year), at most
``SAMPLE_PER_YEAR`` of them (``sampled`` says when a year had more), and kept in a cache for
``TTL_S`` seconds: the queries per chunk then touch only years not seen lately. The listings this
processor links are added to the cached years as soon as their chunk is stored, so its later
chunks see them at once, until a year holds ``SAMPLE_PER_YEAR`` (then it is ``sampled``, as if
read so); another replica's new listings are seen when the entry expires.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right, insort
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import chain, count
from typing import Any

import asyncpg
from cachetools import TTLCache

from .keys import VehicleKey, vehicle_id

MARKET_YEARS = 2
SAMPLE_PER_YEAR = 200
TTL_S = 60.0
MAX_PRICES = 300_000  # cached comparables in all (about 30 MB); least recently used go first
MAX_WINDOWS = 1024  # merged five-year windows kept between chunks (at most ~1,000 prices each)

YearKey = tuple[str, str, int]
_VERSIONS = count()  # process-wide: no two states of any two entries share a version


@dataclass
class YearPrices:
    """The comparable prices of one make, model key and year (sorted), and whose they are.

    At most ``limit`` of them: a year stops growing there and says it is ``sampled``. Unbounded,
    a busy model's years grew by every listing stored within the TTL, and merging a record's five
    years took 7 % of the processor's time in the 200,000-listing end-to-end run.
    """

    prices: list[float] = field(default_factory=list)
    owners: dict[int, float] = field(default_factory=dict)  # vehicle_id(data_hash) -> its price
    sampled: bool = False
    limit: int = SAMPLE_PER_YEAR
    version: int = field(default_factory=lambda: next(_VERSIONS))  # new on every change

    def add(self, data_hash: str, price: float) -> None:
        """Count one more listing (ignored if it is already counted or the year is full)."""
        if self.sampled and len(self.prices) >= self.limit:
            return  # full: nothing more is counted (the common case once a model is busy)
        owner = vehicle_id(data_hash)
        if owner in self.owners:
            return
        if len(self.prices) >= self.limit:
            self.sampled = True
            self.version = next(_VERSIONS)
            return
        self.owners[owner] = price
        insort(self.prices, price)
        self.version = next(_VERSIONS)


def year_keys(keys: Iterable[VehicleKey]) -> list[YearKey]:
    """Return the (make, model key, year) entries the market context of ``keys`` reads, sorted."""
    return sorted(
        {
            (key.make, key.model_key, year)
            for key in keys
            for year in range(key.year - MARKET_YEARS, key.year + MARKET_YEARS + 1)
        }
    )


async def fetch(
    conn: asyncpg.Connection, wanted: Sequence[YearKey], sample: int = SAMPLE_PER_YEAR
) -> dict[YearKey, YearPrices]:
    """Read up to ``sample`` comparables of each entry in one query (empty entries included)."""
    found = {entry: YearPrices(limit=sample) for entry in wanted}
    if not wanted:
        return found
    makes, models, years = (list(column) for column in zip(*wanted, strict=True))
    rows = await conn.fetch(
        """
        SELECT g.make, g.model_key, g.year, c.price, c.owner
        FROM unnest($1::text[], $2::text[], $3::int[]) AS g(make, model_key, year)
        CROSS JOIN LATERAL (
            SELECT k.price, k.vehicle_id AS owner
            FROM processor_known_vehicles k
            WHERE k.make = g.make AND k.model_key = g.model_key AND k.year = g.year
              AND k.price >= 0
            LIMIT $4
        ) AS c
        """,
        makes,
        models,
        years,
        sample,
    )
    for make, model, year, price, owner in rows:
        found[(make, model, year)].owners[owner] = price
    for entry in found.values():
        entry.prices = sorted(entry.owners.values())
        entry.sampled = len(entry.prices) >= sample
    return found


class MarketCache:
    """Comparable prices by (make, model key, year), read once per ``ttl_s`` per entry."""

    def __init__(
        self, ttl_s: float = TTL_S, max_prices: int = MAX_PRICES, sample: int = SAMPLE_PER_YEAR
    ) -> None:
        """Keep entries of at most ``sample`` prices, ``max_prices`` in all, each for ``ttl_s``."""
        self.sample = sample
        self.entries: TTLCache[YearKey, YearPrices] = TTLCache(
            max_prices, ttl_s, getsizeof=lambda entry: 1 + len(entry.prices)
        )
        self.windows: Windows = {}

    async def load(self, conn: asyncpg.Connection, keys: Sequence[VehicleKey]) -> Market:
        """Return the market of a chunk: the entries ``keys`` need (missing ones read at once)."""
        wanted = year_keys(keys)
        entries = {entry: found for entry in wanted if (found := self.entries.get(entry))}
        missing = [entry for entry in wanted if entry not in entries]
        fetched = await fetch(conn, missing, self.sample)
        entries.update(fetched)
        self.entries.update(fetched)
        if len(self.windows) > MAX_WINDOWS:
            self.windows.clear()
        return Market(entries, self.windows)

    def remember(self, keys: Iterable[VehicleKey]) -> None:
        """Count newly stored listings in the cached entries of their year."""
        for key in keys:
            entry = self.entries.get((key.make, key.model_key, key.year))
            if entry is not None and key.has_price:  # weighed when read: grows by what is
                entry.add(key.data_hash, key.price)  # stored within ttl_s


Windows = dict[YearKey, tuple[tuple[int, ...], list[float], bool]]
"""Merged windows by centre: the versions of the years merged, the prices, and if sampled."""


class Market:
    """The comparables one chunk sees; each (make, model key, year) window is merged once.

    ``windows`` (``MarketCache.windows``) keeps merged windows between chunks: one is used again
    while the years it was merged from have the same versions (each entry's changes when it is
    made or grows, or says it is sampled), which is the rule once a busy model's years are full,
    until their entries expire.
    """

    def __init__(
        self, entries: Mapping[YearKey, YearPrices], windows: Windows | None = None
    ) -> None:
        """Hold the chunk's entries and the merged windows kept so far."""
        self.entries = entries
        self.kept: Windows = {} if windows is None else windows
        self._windows: dict[YearKey, tuple[list[float], bool]] = {}

    def window(self, key: VehicleKey) -> tuple[list[float], bool]:
        """Return the sorted prices of the record's make/model, year +/- 2, and if sampled."""
        centre = (key.make, key.model_key, key.year)
        found = self._windows.get(centre)
        if found is None:
            years = range(key.year - MARKET_YEARS, key.year + MARKET_YEARS + 1)
            entries = tuple(
                e for y in years if (e := self.entries.get((key.make, key.model_key, y)))
            )
            stamp = tuple(entry.version for entry in entries)
            kept = self.kept.get(centre)
            if kept is not None and kept[0] == stamp:
                found = (kept[1], kept[2])
            else:
                prices = list(chain.from_iterable(entry.prices for entry in entries))
                prices.sort()  # sorted runs: timsort merges them
                found = (prices, any(entry.sampled for entry in entries))
                self.kept[centre] = (stamp, *found)
            self._windows[centre] = found
        return found

    def owner_price(self, key: VehicleKey) -> float | None:
        """Return the stored price of this very listing if it is among the comparables."""
        entry = self.entries.get((key.make, key.model_key, key.year))
        return None if entry is None else entry.owners.get(vehicle_id(key.data_hash))


def _median(ordered: list[float]) -> float:
    """Return the median of a sorted, non-empty list (``statistics.median`` would sort it again)."""
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def market_context(key: VehicleKey, market: Market) -> dict[str, Any]:
    """Return where the price sits among comparables (same make/model, year +/- 2).

    Listings without a price are no comparables; one without a price gets the count and the
    median of the others, and no percentile of its own.
    """
    prices, sampled = market.window(key)
    own = market.owner_price(key)
    if own is not None:  # never compare a listing with itself
        prices = prices.copy()
        del prices[bisect_left(prices, own)]
    context: dict[str, Any] = {
        "comparables": len(prices),
        "source": "processor_known_vehicles",
        "rule": f"same make and model, year +/- {MARKET_YEARS}",
        "sampled": sampled,
    }
    if prices:
        context["median"] = round(_median(prices), 2)
    if prices and key.has_price:  # a listing without a price has no place among them
        below, upto = bisect_left(prices, key.price), bisect_right(prices, key.price)
        context["percentile"] = round(100.0 * (below + upto) / (2 * len(prices)), 1)
    return context
