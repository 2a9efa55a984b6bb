"""The async work done on each chunk between blocking steps: link, online geocode, image check."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import aiohttp
import asyncpg

from shared.events import RecordType

from .dedup.linker import Linker
from .dedup.prepare import KeyPreparer, Prepared
from .enrich.geocode import CachedGeocoder, count_failed
from .enrich.image_head import check_head
from .processing import ChunkCounts


@dataclass(frozen=True)
class ChunkStages:
    """Links chunks against the known index and runs the opt-in online enrichments."""

    pool: asyncpg.Pool
    linker: Linker
    geocoder: CachedGeocoder | None = None
    http: aiohttp.ClientSession | None = None  # set when image HEAD checks are on

    @property
    def prepare(self) -> KeyPreparer:
        """Return what computes a chunk's matching keys and probes where it is read (no I/O)."""
        return self.linker.preparer

    async def __call__(
        self, record_type: RecordType, rows: list[dict[str, Any]], prepared: object = None
    ) -> ChunkCounts:
        """Process one chunk in place; return its known and near duplicates, failed lookups."""
        assert prepared is None or isinstance(prepared, Prepared)  # noqa: S101 - from prepare
        stats = await self.linker.link(record_type, rows, prepared)
        failures = 0
        if self.geocoder is not None:
            failures = await self._geocode(rows)
        if self.http is not None:
            for row in rows:
                image = row["enrichment"].get("image")
                if image is not None:
                    await check_head(self.http, image)
        return ChunkCounts(stats.known, stats.near, failures)

    async def _geocode(self, rows: Sequence[dict[str, Any]]) -> int:
        """Geocode the rows' queries; return how many lookups failed."""
        assert self.geocoder is not None  # noqa: S101 - checked by the caller
        queries = {q for row in rows if (q := row["enrichment"].get("geo_query"))}
        if not queries:
            return 0
        async with self.pool.acquire() as conn:
            found = await self.geocoder.lookup(conn, queries)
        for row in rows:
            query = row["enrichment"].get("geo_query")
            if query in found:
                row["enrichment"]["geo"] = found[query]
        return count_failed(found.values())
