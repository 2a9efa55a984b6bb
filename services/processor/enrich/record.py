"""The synchronous enrichment of one valid record: grade, offline geocode, image form."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from shared.records import CarEvent, Record, Vehicle

from ..grading import DEFAULT_GRADE_RULES, GradeRule, grade
from .gazetteer import OfflineGazetteer, place_query
from .images import check_form, dropped_image


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
