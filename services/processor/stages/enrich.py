"""Enrich valid records: offline, one record where it is read; online, a chunk after linking.

``Enricher`` adds a record's grade, its offline geocode (the gazetteer) and its image's form
check on the reading side, before the record's line is framed. ``OnlineEnrichment`` runs the
opt-in online steps on the async side, after linking: geocoding with an online geocoder
(``PROCESSOR_GEOCODER=nominatim``) and the image HEAD check (``PROCESSOR_CHECK_IMAGES``). Both
are over the ``enrich`` package. The reader process imports this module for ``Enricher``, so
the online steps import their clients (asyncpg, geopy, aiohttp: ~20 MB) only when they run.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from shared.records import CarEvent, Record, Vehicle

from ..enrich.gazetteer import OfflineGazetteer, place_query
from ..enrich.images import check_form, dropped_image
from ..grading import DEFAULT_GRADE_RULES, GradeRule, grade

if TYPE_CHECKING:
    import asyncpg

    from ..enrich.geocode import CachedGeocoder
    from ..enrich.image_head import ImageChecks


@dataclass(frozen=True)
class Enricher:
    """Enriches valid records; ``gazetteer`` is None when an online geocoder does it later."""

    rules: Sequence[GradeRule] = DEFAULT_GRADE_RULES
    rules_source: str = "default"
    gazetteer: OfflineGazetteer | None = field(default_factory=OfflineGazetteer)

    def enrich(self, record: Record, repairs: list[dict[str, Any]]) -> dict[str, Any]:
        """Return the row fields the processor adds: grade columns and ``enrichment``."""
        enrichment: dict[str, Any] = {"repairs": repairs}
        extra: dict[str, Any] = {"enrichment": enrichment}
        if isinstance(record, Vehicle):
            investment_grade, rule = grade(record, self.rules)
            extra.update(investment_grade=investment_grade, grade_rule=rule)
            enrichment["grade"] = {
                "grade": investment_grade,
                "rule": rule,
                "rules": self.rules_source,
            }
        query = _query_of(record)
        if query is not None:
            enrichment["geo_query"] = query
            if self.gazetteer is not None:
                enrichment["geo"] = dict(self.gazetteer.entry(query))
        image = check_form(getattr(record, "image_url", None)) or dropped_image(repairs)
        if image is not None:
            enrichment["image"] = image
        return extra


def _query_of(record: Record) -> str | None:
    if isinstance(record, Vehicle):
        return place_query(record.location_city, record.location_state)
    if isinstance(record, CarEvent) and record.country.upper() in {"US", "USA"}:
        return place_query(record.city, record.state)
    return None


@dataclass(frozen=True)
class OnlineEnrichment:
    """Geocodes a chunk's places (when a geocoder is set) and checks its images (``images``)."""

    pool: asyncpg.Pool
    geocoder: CachedGeocoder | None = None
    images: ImageChecks | None = None  # set when image HEAD checks are on

    async def __call__(self, rows: Sequence[dict[str, Any]]) -> int:
        """Enrich the rows in place; return how many geocoder lookups failed."""
        failures = 0
        if self.geocoder is not None:
            failures = await self._geocode(rows)
        if self.images is not None:
            entries = (row["enrichment"].get("image") for row in rows)
            await self.images.check_all(entry for entry in entries if entry is not None)
        return failures

    async def _geocode(self, rows: Sequence[dict[str, Any]]) -> int:
        """Geocode the rows' queries; return how many lookups failed."""
        from ..enrich.geocode import count_failed  # asyncpg and geopy: see the module's docstring

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
