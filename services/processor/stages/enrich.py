"""Enrich a chunk's linked rows online: geocode their places, check their images (async side).

Both steps are opt-in (``PROCESSOR_GEOCODER=nominatim``, ``PROCESSOR_CHECK_IMAGES``) and run
after linking, over the ``enrich`` package's geocoder and image check.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import aiohttp
import asyncpg

from ..enrich.geocode import CachedGeocoder, count_failed
from ..enrich.image_head import check_head


@dataclass(frozen=True)
class OnlineEnrichment:
    """Geocodes a chunk's places (when a geocoder is set) and checks its images (with ``http``)."""

    pool: asyncpg.Pool
    geocoder: CachedGeocoder | None = None
    http: aiohttp.ClientSession | None = None  # set when image HEAD checks are on

    async def __call__(self, rows: Sequence[dict[str, Any]]) -> int:
        """Enrich the rows in place; return how many geocoder lookups failed."""
        failures = 0
        if self.geocoder is not None:
            failures = await self._geocode(rows)
        if self.http is not None:
            for row in rows:
                image = row["enrichment"].get("image")
                if image is not None:
                    await check_head(self.http, image)
        return failures

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
