"""PostgreSQL side of the known index: locks, candidates, exact hits, inserts, comparables.

Every function takes a connection inside the caller's transaction; all SQL is parameterised and
fetches a whole chunk at once (``= ANY($1)``), never one query per record.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import islice
from sys import intern
from typing import Any

import asyncpg

from .keys import (
    EVIDENCE_COLUMNS,
    KNOWN_COLUMNS,
    UNKNOWN_PRICE,
    EvidenceRow,
    VehicleKey,
    description_words,
    vehicle_id,
)
from .prepare import Bounds, Probes
from .rarity import Weights


@dataclass(slots=True, eq=False)
class Known:
    """A known vehicle: its matching fields and its link (hashed by identity: one per chunk).

    Not frozen (a frozen dataclass is slow to build); nothing changes one once made.
    """

    key: VehicleKey
    canonical_hash: str
    match_score: float | None = None
    match_fields: tuple[str, ...] | None = None
    weights: Weights | None = None  # its words' weights in the chunk it was linked in

    @property
    def own_weights(self) -> Weights:
        """Return its description words with their weights (uniform if stored without them)."""
        if self.weights is None:
            self.weights = Weights.read(description_words(self.key), None)
        return self.weights


def columns(rows: Sequence[Sequence[Any]], width: int) -> list[list[Any]]:
    """Return ``rows`` as ``width`` column lists, the arguments of ``unnest($1::type[], ...)``."""
    return [list(column) for column in zip(*rows, strict=True)] or [[] for _ in range(width)]


async def lock(conn: asyncpg.Connection, lock_ids: Sequence[int]) -> None:
    """Take the transaction-scoped advisory locks, in ascending order (no deadlock)."""
    await conn.execute(
        "SELECT count(pg_advisory_xact_lock(id)) FROM "
        "(SELECT id FROM unnest($1::bigint[]) AS id ORDER BY id) AS ordered",
        list(lock_ids),
    )


def _known(row: asyncpg.Record) -> Known:
    # _SELECT (VehicleKey's fields, in order), then _LINK. The fields many listings share (make,
    # model, city, state, source) and the words are interned: one copy for all cached listings.
    (data_hash, make, model, year, price, city, state, description, image_url, source,
     source_url, stock, canonical, score, matched, stored, words) = row  # fmt: skip
    key = VehicleKey(
        data_hash, intern(make), intern(model), year, price, intern(city), intern(state),
        description, image_url, intern(source), source_url, stock,
    )  # fmt: skip
    # The score is stored as `real`: back to the two decimals `scoring.score` gave it, so a
    # listing seen again carries the score it was first linked with (96.86, not 96.8600006).
    score = round(score, 2) if score is not None else None
    known = Known(key, canonical, score, tuple(matched) if matched is not None else None)
    if words is not None and stored is not None and len(words) == len(stored):
        # As linked: no word to derive.
        known.weights = Weights(zip(map(intern, words), stored, strict=True))
    else:  # stored before its words were: derived from the description
        known.weights = Weights.read(description_words(key), stored)
    return known


_SELECT = ", ".join(f"k.{field}" for field in VehicleKey._fields)  # VehicleKey(*columns)
_LINK = "k.canonical_hash, k.match_score, k.match_fields, k.word_weights, k.words"


async def exact(conn: asyncpg.Connection, hashes: Sequence[str]) -> dict[str, Known]:
    """Return the known vehicles among ``hashes``."""
    rows = await conn.fetch(
        f"SELECT {_SELECT}, {_LINK} FROM processor_known_vehicles k "
        "WHERE k.data_hash = ANY($1::text[])",
        list(hashes),
    )
    return {row["data_hash"]: _known(row) for row in rows}


LINK_COLUMNS = ("canonical_hash", "match_score", "match_fields", "word_weights", "words")
"""The known index's columns after ``KNOWN_COLUMNS``: the link and the words' weights."""

READ_BATCH = 2_000
"""Known rows read per query: a chunk can need ~20,000 against a large index, and asyncpg's
records of one query are all held until it returns (~1.5 KB each beside the listing built from
each)."""

MAX_CANDIDATES = 8
"""Known vehicles read per range of a probe: bounds the work and the memory per record whatever a
block's size (a chunk holds at most chunk size x 5 probes x 4 ranges x this many candidates). The
candidates of a chunk are in memory at once: against the index a 1 GB file of templated listings
builds, 16 took the processor (with its reader process) over 300 MiB. 8 gives the same links on
the quality generator (``pipeline dedup-quality --n 30000``, chunks of 1,000 and of 10)."""


class KnownCache(dict[int, Known]):
    """Known vehicles by vehicle id, at most ``size``; the oldest half goes when it is full.

    The index is append-only (a known vehicle and its link never change once stored), so a
    cached one stays right. A plain dict (first in, first out) rather than an LRU: this is read
    ~100,000 times per chunk, and cachetools' Python-level bookkeeping cost more than it saved.
    """

    def __init__(self, size: int) -> None:
        """Hold at most ``size`` known vehicles."""
        super().__init__()
        self.size = size

    def keep(self, found: Iterable[Known]) -> None:
        """Add known vehicles, dropping the oldest half first whenever the cache is full."""
        for known in found:
            if len(self) >= self.size:
                for old in list(islice(self, max(1, self.size // 2))):
                    del self[old]
            self[vehicle_id(known.key.data_hash)] = known


# ``q.lo <= q.hi`` refers to the probe only: PostgreSQL checks it once per probe (a one-time
# filter) and skips the index descent of an empty range (``NO_PRICE``: a photo probe's listings
# without a photo, which cannot exist). A range is read outwards from the record's price, in two
# halves (at or above it in ascending order, below it in descending order), so when a block holds
# more listings than the limit, the ones kept are those whose price is nearest the record's.
_FILTER = (
    "SELECT vehicle_id FROM processor_vehicle_evidence "
    "WHERE q.{lo} <= q.{hi} AND block_key = p.block_key AND photo = {photo} "
    "AND year BETWEEN q.year - 1 AND q.year + 1 AND desc_len BETWEEN q.short AND q.long "
)
_RANGE = (
    f"({_FILTER} AND price >= greatest(q.{{lo}}, q.price) AND price <= q.{{hi}} "
    "ORDER BY price, vehicle_id LIMIT $11) UNION ALL "
    f"({_FILTER} AND price >= q.{{lo}} AND price < least(q.{{hi}}, q.price) "
    "ORDER BY price DESC, vehicle_id DESC LIMIT $11)"
)
# Listings without a price (``keys.UNKNOWN_PRICE``, below every band) link without the price, so a
# priced probe reads them in a range of their own; a probe whose band already holds them (any
# price: the record has none itself) or is empty skips it in its one-time filter.
_UNPRICED = (
    f"({_FILTER} AND q.{{lo}} > {UNKNOWN_PRICE} AND price = {UNKNOWN_PRICE} "
    "ORDER BY vehicle_id LIMIT $10)"
)


async def candidates(
    conn: asyncpg.Connection,
    probes: Probes,
    cache: KnownCache,
    limit: int = MAX_CANDIDATES,
) -> list[list[Known]]:
    """Return up to ``limit`` known vehicles for each probe and kind, in the order of ``probes``.

    Each probe reads two ranges of the btree (the key's listings with a photo, in one price
    range, and without, in another), outwards from the record's price, filtered on the index's
    own columns, so a listing outside the bounds costs no row read. The limit (half of it on
    each side of the record's price: the nearest prices) keeps the work per record constant when
    a range holds many listings (a photo path shared by many); the btree returns the same subset
    to every replica. Each known vehicle comes once with the
    probes it answers; only those not in ``cache`` are read whole (and then cached).
    """
    with_photo = _RANGE.format(photo="true", lo="lo", hi="hi")
    without = _RANGE.format(photo="false", lo="bare_lo", hi="bare_hi")
    unpriced = _UNPRICED.format(photo="true", lo="lo", hi="hi")
    bare_unpriced = _UNPRICED.format(photo="false", lo="bare_lo", hi="bare_hi")
    half = max(1, limit // 2)
    hits = await conn.fetch(
        "SELECT b.vehicle_id, array_agg(p.n) AS probes "
        "FROM unnest($1::bigint[], $2::int[]) WITH ORDINALITY AS p(block_key, bounds, n) "
        "JOIN unnest($3::int[], $4::int[], $5::int[], "
        "            $6::float8[], $7::float8[], $8::float8[], $9::float8[], $12::float8[]) "
        "     WITH ORDINALITY AS q(year, short, long, lo, hi, bare_lo, bare_hi, price, n) "
        "  ON q.n = p.bounds + 1 "
        f"CROSS JOIN LATERAL ({with_photo} UNION ALL {without} "
        f"                    UNION ALL {unpriced} UNION ALL {bare_unpriced}) b "
        "GROUP BY b.vehicle_id ORDER BY b.vehicle_id",
        probes.keys,
        probes.bounds_of,
        *columns(probes.bounds, len(Bounds._fields))[:-1],
        limit,
        half,
        [bounds.price for bounds in probes.bounds],
    )
    # This chunk's rows are held here: filling the cache may evict some of them from it.
    rows_of: dict[int, Known | None] = {vehicle: cache.get(vehicle) for vehicle, _ in hits}
    missing = [vehicle for vehicle, known in rows_of.items() if known is None]
    for start in range(0, len(missing), READ_BATCH):  # a batch's records freed before the next
        rows = await conn.fetch(
            f"SELECT {_SELECT}, {_LINK} FROM processor_known_vehicles k "
            "WHERE k.vehicle_id = ANY($1::bigint[])",
            missing[start : start + READ_BATCH],
        )
        read = [_known(row) for row in rows]
        del rows
        rows_of.update((vehicle_id(known.key.data_hash), known) for known in read)
        cache.keep(read)
    found: list[list[Known]] = [[] for _ in probes.keys]
    for vehicle, answered in hits:
        known = rows_of[vehicle]
        assert known is not None  # noqa: S101 - every hit's row was read above
        for number in answered:
            found[number - 1].append(known)  # WITH ORDINALITY counts from 1
    return found


async def insert_evidence(conn: asyncpg.Connection, rows: Sequence[EvidenceRow]) -> None:
    """Add new vehicles' evidence rows (``keys.evidence_rows``)."""
    await conn.copy_records_to_table(
        "processor_vehicle_evidence", records=rows, columns=EVIDENCE_COLUMNS
    )


async def insert_known(conn: asyncpg.Connection, known: Sequence[Known]) -> None:
    """Add new vehicles with their links."""
    records = [
        (
            *item.key.record(), item.canonical_hash, item.match_score, item.match_fields,
            *item.own_weights.columns(),
        )
        for item in known
    ]  # fmt: skip
    columns = (*KNOWN_COLUMNS, *LINK_COLUMNS)
    await conn.copy_records_to_table("processor_known_vehicles", records=records, columns=columns)


async def remember_records(
    conn: asyncpg.Connection, record_type: str, hashes: Sequence[str]
) -> set[str]:
    """Add event/article hashes to the index; return those that were already known."""
    new = await conn.fetch(
        "INSERT INTO processor_known_records (record_type, data_hash) "
        "SELECT $1, h FROM unnest($2::text[]) AS h ON CONFLICT DO NOTHING RETURNING data_hash",
        record_type,
        list(hashes),
    )
    return set(hashes) - {row["data_hash"] for row in new}
