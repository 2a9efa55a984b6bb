"""The processor's own tables (known-listings index, geocode cache), in ``migrations/``.

A migration whose data only Python can compute (blocking keys) leaves a row in
``processor_backfills``; ``migrate`` runs that backfill before the processor takes work, so a
record is never linked against a half-filled index.
"""

from __future__ import annotations

from pathlib import Path

import asyncpg
import structlog

from shared.db import apply_migrations

from .dedup.keys import (
    EVIDENCE_COLUMNS,
    VehicleKey,
    description_words,
    evidence,
    evidence_rows,
    sorted_words,
)
from .dedup.rarity import Rarity, Weights
from .dedup.store import columns

COMPONENT = "processor"
MIGRATIONS = Path(__file__).parent / "migrations"
BACKFILL_LOCK_KEY = 0x5049_5046  # one processor backfills; the others wait, then find it done
BACKFILL_BATCH = 5_000
EVIDENCE = "vehicle_evidence"

log = structlog.get_logger(__name__)


def _literals(weights: Weights) -> tuple[str, str]:
    """Return the ``word_weights`` float8[] and ``words`` text[] literals of a listing.

    ``repr`` round-trips a float exactly; words are lower-case letters and digits
    (``keys.text``): nothing to escape.
    """
    values, words = weights.columns()
    return "{" + ",".join(map(repr, values)) + "}", "{" + ",".join(words) + "}"


async def migrate(conn: asyncpg.Connection) -> list[str]:
    """Apply the processor's pending migrations and backfills; return the versions applied."""
    applied = await apply_migrations(conn, COMPONENT, MIGRATIONS)
    await backfill_evidence(conn)
    return applied


async def _pending(conn: asyncpg.Connection, name: str) -> bool:
    return bool(await conn.fetchval("SELECT 1 FROM processor_backfills WHERE name = $1", name))


async def backfill_evidence(conn: asyncpg.Connection, batch: int = BACKFILL_BATCH) -> int:
    """Fill the evidence blocking table from the known vehicles, if that is still to do.

    It also stores the descriptions sorted (``keys.sorted_words``), as the gate now compares them.
    Idempotent: rows are added with ON CONFLICT DO NOTHING in batches of ``batch`` vehicles (one
    transaction each), so a backfill cut short is simply run again at the next start. Returns
    the number of vehicles read (0 when there was nothing to do).
    """
    if not await _pending(conn, EVIDENCE):
        return 0
    await conn.execute("SELECT pg_advisory_lock($1)", BACKFILL_LOCK_KEY)
    try:
        if not await _pending(conn, EVIDENCE):  # another processor finished it meanwhile
            return 0
        selected = ", ".join(VehicleKey._fields)
        after, done = "", 0
        while rows := await conn.fetch(
            f"SELECT {selected} FROM processor_known_vehicles "
            "WHERE data_hash > $1 ORDER BY data_hash LIMIT $2",
            after,
            batch,
        ):
            stored = [VehicleKey(*row) for row in rows]
            # The first version kept descriptions as written; the gate now compares them sorted.
            keys = [key._replace(description=sorted_words(key.description)) for key in stored]
            # Each batch is weighed as a chunk is (``rarity``): its rarest words are its keys, and
            # each vehicle keeps its words' weights (``processor_known_vehicles.word_weights``).
            described = [description_words(key) for key in keys]
            rarity = Rarity.of(described)
            updated = [
                (key.data_hash, key.description, *_literals(rarity.of_words(found)))
                for key, found in zip(keys, described, strict=True)
            ]
            entries = [entry for key in keys for entry in evidence_rows(key, evidence(key, rarity))]
            async with conn.transaction():
                await conn.execute(
                    "UPDATE processor_known_vehicles AS k "
                    "SET description = u.description, word_weights = u.weights::float8[], "
                    "    words = u.words::text[] "
                    "FROM unnest($1::text[], $2::text[], $3::text[], $4::text[]) "
                    "     AS u(data_hash, description, weights, words) "
                    "WHERE k.data_hash = u.data_hash",
                    *columns(updated, 4),
                )
                await conn.execute(
                    f"INSERT INTO processor_vehicle_evidence ({', '.join(EVIDENCE_COLUMNS)}) "
                    "SELECT * FROM unnest($1::bigint[], $2::int[], $3::bigint[], $4::int[], "
                    "$5::float8[], $6::bool[]) ON CONFLICT DO NOTHING",
                    *columns(entries, len(EVIDENCE_COLUMNS)),
                )
            after, done = keys[-1].data_hash, done + len(keys)
            log.info("processor.backfill_progress", backfill=EVIDENCE, vehicles=done)
        await conn.execute("DELETE FROM processor_backfills WHERE name = $1", EVIDENCE)
        log.info("processor.backfill_done", backfill=EVIDENCE, vehicles=done)
        return done
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", BACKFILL_LOCK_KEY)
