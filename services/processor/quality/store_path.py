"""Dedup quality on the production path: links made by the service's ``Linker`` in PostgreSQL.

The rows are linked chunk by chunk with ``Linker.link``, exactly as the processor links a file:
the probes, price and year ranges, candidate limits and the known cache of ``dedup.store``, one
transaction per chunk. The index lives in a throw-away database created on the server of the
given DSN (``dedup_quality_<random>``), migrated with the processor's migrations and dropped at
the end. ``report.cluster`` (an in-memory index) gives the same links on the same data
(``tests/integration/test_dedup_quality.py``); the figures quoted are this module's.
"""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import AsyncIterator, Iterable
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
from pydantic import SecretStr

from shared import db
from shared.events import RecordType

from .. import schema
from ..chunks import CHUNK_SIZE
from ..dedup.linker import Linker
from ..dedup.scoring import LINK_THRESHOLD
from .report import Quality, generate, score_links


def _with_database(dsn: str, name: str) -> str:
    return urlunsplit(urlsplit(dsn)._replace(path=f"/{name}"))


@contextlib.asynccontextmanager
async def scratch_index(dsn: SecretStr) -> AsyncIterator[asyncpg.Pool]:
    """Yield a pool on a new, migrated database beside ``dsn``'s; drop the database at the end."""
    url = dsn.get_secret_value()
    name = f"dedup_quality_{secrets.token_hex(6)}"
    admin = await db.connect_once(SecretStr(_with_database(url, "postgres")))
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        try:
            scratch = SecretStr(_with_database(url, name))
            await db.migrate_as_owner(scratch, schema.migrate)
            async with db.create_pool(scratch, application_name="dedup-quality") as pool:
                yield pool
        finally:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


async def cluster_in_store(
    pool: asyncpg.Pool,
    rows: Iterable[dict[str, Any]],
    threshold: float = LINK_THRESHOLD,
    chunk_size: int = CHUNK_SIZE,
) -> dict[str, str]:
    """Return data_hash -> canonical hash, linking ``rows`` in chunks as the processor does."""
    linker = Linker(pool, threshold)
    try:
        canonical: dict[str, str] = {}
        rows = [{**row, "enrichment": dict(row.get("enrichment") or {})} for row in rows]
        for start in range(0, len(rows), chunk_size):
            # A file's exact repeats are dropped before linking (``duplicates_in_batch``): the
            # first stays where it was read. A repeat in a later chunk meets the store's exact
            # match instead.
            firsts: dict[str, dict[str, Any]] = {}
            for row in rows[start : start + chunk_size]:
                firsts.setdefault(row["data_hash"], row)
            chunk = list(firsts.values())
            await linker.link(RecordType.VEHICLES, chunk)
            for row in chunk:
                canonical.setdefault(row["data_hash"], row["canonical_hash"] or row["data_hash"])
        return canonical
    finally:
        await linker.upkeep.close()


async def measure_in_store(
    dsn: SecretStr,
    n: int = 2000,
    seed: int = 7,
    threshold: float = LINK_THRESHOLD,
    photos: str = "shared",
    chunk_size: int = CHUNK_SIZE,
) -> Quality:
    """Generate ``n`` listings, link them through the store, and return precision and recall."""
    generated = generate(n, seed, photos)
    async with scratch_index(dsn) as pool:
        canonical = await cluster_in_store(pool, generated.rows, threshold, chunk_size)
    return score_links(generated, canonical, threshold, photos)
