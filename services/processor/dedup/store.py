"""PostgreSQL side of the known index: locks, candidates, exact hits, inserts, comparables.

Every function takes a connection inside the caller's transaction; all SQL is parameterised and
fetches a whole chunk at once (``= ANY($1)``), never one query per record.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import asyncpg

from .keys import KNOWN_COLUMNS, VehicleKey

MARKET_SAMPLE = 1000  # comparables read per make/model group at most


@dataclass(frozen=True, slots=True)
class Known:
    """A known vehicle: its matching fields and its link."""

    key: VehicleKey
    canonical_hash: str
    match_score: float | None = None
    match_fields: tuple[str, ...] | None = None


async def lock(conn: asyncpg.Connection, lock_ids: Sequence[int]) -> None:
    """Take the transaction-scoped advisory locks, in ascending order (no deadlock)."""
    await conn.execute(
        "SELECT count(pg_advisory_xact_lock(id)) FROM "
        "(SELECT id FROM unnest($1::bigint[]) AS id ORDER BY id) AS ordered",
        list(lock_ids),
    )


def _known(row: asyncpg.Record) -> Known:
    key = VehicleKey(*(row[column] for column in KNOWN_COLUMNS if column != "model_key"))
    fields = tuple(row["match_fields"]) if row["match_fields"] is not None else None
    return Known(key, row["canonical_hash"], row["match_score"], fields)


_SELECT = ", ".join(f"k.{column}" for column in KNOWN_COLUMNS if column != "model_key")
_LINK = "k.canonical_hash, k.match_score, k.match_fields"


async def exact(conn: asyncpg.Connection, hashes: Sequence[str]) -> dict[str, Known]:
    """Return the known vehicles among ``hashes``."""
    rows = await conn.fetch(
        f"SELECT {_SELECT}, {_LINK} FROM processor_known_vehicles k "
        "WHERE k.data_hash = ANY($1::text[])",
        list(hashes),
    )
    return {row["data_hash"]: _known(row) for row in rows}


MAX_CANDIDATES = 64
"""Known vehicles read per blocking key: bounds the work per record whatever a block's size."""


async def candidates(
    conn: asyncpg.Connection, key_ids: Sequence[int], limit: int = MAX_CANDIDATES
) -> dict[int, list[Known]]:
    """Return up to ``limit`` known vehicles under each of these blocking key ids.

    The limit keeps the work per record constant when a block grows large (a popular
    make/model/year in one city); the btree returns the same subset to every replica.
    """
    pairs = await conn.fetch(
        "SELECT q.block_key, b.data_hash FROM unnest($1::bigint[]) AS q(block_key) "
        "CROSS JOIN LATERAL (SELECT data_hash FROM processor_vehicle_blocks "
        "  WHERE block_key = q.block_key ORDER BY data_hash LIMIT $2) b",
        list(key_ids),
        limit,
    )
    # A known vehicle sits under several of the probed keys: read and build it once.
    hashes = list({pair["data_hash"] for pair in pairs})
    rows = await conn.fetch(
        f"SELECT {_SELECT}, {_LINK} FROM processor_known_vehicles k "
        "WHERE k.data_hash = ANY($1::text[])",
        hashes,
    )
    by_hash = {row["data_hash"]: _known(row) for row in rows}
    found: dict[int, list[Known]] = {}
    for pair in pairs:
        found.setdefault(pair["block_key"], []).append(by_hash[pair["data_hash"]])
    return found


async def insert(
    conn: asyncpg.Connection,
    known: Sequence[Known],
    blocks: Sequence[tuple[int, str]],
) -> None:
    """Add new vehicles and their blocking keys to the index (COPY: one round trip each)."""
    records = [
        (*item.key.record(), item.canonical_hash, item.match_score, item.match_fields)
        for item in known
    ]
    columns = (*KNOWN_COLUMNS, "canonical_hash", "match_score", "match_fields")
    await conn.copy_records_to_table("processor_known_vehicles", records=records, columns=columns)
    await conn.copy_records_to_table(
        "processor_vehicle_blocks", records=list(blocks), columns=("block_key", "data_hash")
    )


async def comparables(
    conn: asyncpg.Connection, groups: Sequence[tuple[str, str, int, int]]
) -> dict[tuple[str, str], list[tuple[int, float, str]]]:
    """Return ``(year, price, data_hash)`` of known vehicles per (make, model key) in year spans."""
    rows = await conn.fetch(
        """
        SELECT g.make, g.model_key, c.year, c.price, c.data_hash
        FROM unnest($1::text[], $2::text[], $3::int[], $4::int[]) AS g(make, model_key, lo, hi)
        CROSS JOIN LATERAL (
            SELECT k.year, k.price, k.data_hash FROM processor_known_vehicles k
            WHERE k.make = g.make AND k.model_key = g.model_key AND k.year BETWEEN g.lo AND g.hi
            LIMIT $5
        ) AS c
        """,
        *(list(column) for column in zip(*groups, strict=True)) if groups else ([], [], [], []),
        MARKET_SAMPLE,
    )
    found: dict[tuple[str, str], list[tuple[int, float, str]]] = {}
    for row in rows:
        found.setdefault((row["make"], row["model_key"]), []).append(
            (row["year"], row["price"], row["data_hash"])
        )
    return found


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
