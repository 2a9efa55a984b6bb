"""What every mapper shares: the mapped result, field access, and the per-type repairs."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from shared.events import RecordType
from shared.records import (
    ArticleCategory,
    EventType,
    VehicleCategory,
    VehicleCondition,
    VehicleRegion,
)

from .dates import repair_date, repair_event_dates
from .event_types import fill_event_type
from .repairs import (
    Repairs,
    foreign_currency,
    repair_choice,
    repair_make,
    repair_model,
    repair_price,
    repair_state,
    repair_whitespace,
    state_code,
)
from .titles import fill_from_title
from .urls import complete_url, repair_image_url
from .vocabulary import (
    ARTICLE_CATEGORY_ALIASES,
    CATEGORY_ALIASES,
    CONDITION_ALIASES,
    COUNTRY_ALIASES,
    EVENT_TYPE_ALIASES,
    REGION_ALIASES,
)

SOURCE_RULE = "source"  # error type prefix of failures found while mapping (not schema, not rule)
_LOCATION_RE = re.compile(
    r"^\s*(?P<city>[^,]+?)\s*,\s*(?P<state>[A-Za-z .]+?)(?:\s+\d{5}(?:-\d{4})?)?\s*$"
)


@dataclass
class Mapped:
    """A raw item mapped to the canonical (camelCase) shape, with its repairs and source errors."""

    record: Any
    repairs: Repairs = field(default_factory=Repairs)
    errors: list[dict[str, Any]] = field(default_factory=list)


def source_error(field_name: str, rule: str, message: str, value: Any) -> dict[str, Any]:
    """Return a failure found while mapping, in the processor's error shape."""
    return {
        "field": field_name,
        "rule": f"{SOURCE_RULE}_{rule}",
        "message": message,
        "value": value,
    }


def pick(item: Any, paths: str) -> Any:
    """Return the first non-empty value of ``a|b.c|d.0`` paths in ``item`` (dotted, list index)."""
    for path in paths.split("|"):
        value: Any = item
        for part in path.split("."):
            if isinstance(value, dict):
                value = value.get(part)
            elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
                value = value[int(part)]
            else:
                value = None
                break
        if value not in (None, "", []):
            return value
    return None


def split_location(
    record: dict[str, Any], city_field: str, state_field: str, text: Any, repairs: Repairs
) -> None:
    """Split "City, ST 12345" into city and state; record it.

    ``text`` is another field (a listing's ``location``), used when the city is missing, or the
    city field itself when it holds both. The state is filled only when it is missing.
    """
    city = record.get(city_field)
    if not isinstance(text, str) or (city and city != text):
        return
    match = _LOCATION_RE.match(text)
    if match is None or state_code(match["state"]) is None:
        return
    record[city_field] = repairs.add(city_field, text, match["city"], "location_split")
    if not record.get(state_field):
        record[state_field] = repairs.add(
            state_field, text, match["state"].strip(), "location_split"
        )


def refuse_foreign_price(record: dict[str, Any], errors: list[dict[str, Any]]) -> bool:
    """Add a failure for a price in another currency than US dollars; True if there is one.

    Read as dollars, "\u00a345,000" or "\u00a55,000,000" would be a wrong price that grades
    and market statistics then trust; converting needs a rate, which is not an unambiguous
    repair. The record fails with the reason, and validation's own complaint about the same
    field is not repeated (``stages.check.with_source_errors``).
    """
    value = record.get("price")
    currency = foreign_currency(value) if isinstance(value, str) else None
    if currency is None:
        return False
    message = f"the price is in {currency}, not US dollars: prices are not converted"
    errors.append(source_error("price", "currency", message, value))
    return True


def _finish_vehicle(record: dict[str, Any], repairs: Repairs, errors: list[dict[str, Any]]) -> None:
    fill_from_title(record, "title", repairs)
    repair_make(record, repairs)
    repair_model(record, repairs)
    if not refuse_foreign_price(record, errors):
        repair_price(record, "price", repairs)
    split_location(record, "locationCity", "locationState", record.get("location"), repairs)
    split_location(record, "locationCity", "locationState", record.get("locationCity"), repairs)
    repair_state(record, "locationState", repairs)
    repair_whitespace(record, ("locationCity", "stockNumber"), repairs)
    repair_choice(record, "category", CATEGORY_ALIASES, repairs, VehicleCategory)
    repair_choice(record, "condition", CONDITION_ALIASES, repairs, VehicleCondition)
    repair_choice(record, "locationRegion", REGION_ALIASES, repairs, VehicleRegion)
    complete_url(record, "sourceUrl", repairs)
    repair_image_url(record, "imageUrl", repairs, bases=("sourceUrl",))
    if isinstance(record.get("year"), str) and record["year"].strip().isdigit():
        record["year"] = repairs.add("year", record["year"], int(record["year"]), "year_text")


def _finish_event(record: dict[str, Any], repairs: Repairs, errors: list[dict[str, Any]]) -> None:
    repair_event_dates(record, repairs)
    split_location(record, "city", "state", record.get("location"), repairs)
    split_location(record, "city", "state", record.get("city"), repairs)
    repair_state(record, "state", repairs)
    repair_whitespace(record, ("name", "venue", "city"), repairs)
    if "eventType" not in record and "event_type" in record:  # synonyms apply to either key
        record["eventType"] = record.pop("event_type")
    repair_choice(record, "eventType", EVENT_TYPE_ALIASES, repairs, EventType)
    fill_event_type(record, repairs)
    repair_choice(record, "country", COUNTRY_ALIASES, repairs)
    complete_url(record, "url", repairs)
    complete_url(record, "sourceUrl", repairs)
    repair_image_url(record, "imageUrl", repairs, bases=("url", "sourceUrl"))


def _finish_article(record: dict[str, Any], repairs: Repairs, errors: list[dict[str, Any]]) -> None:
    repair_date(record, "publishedDate", repairs)
    repair_whitespace(record, ("title", "author"), repairs)
    repair_choice(record, "category", ARTICLE_CATEGORY_ALIASES, repairs, ArticleCategory)
    complete_url(record, "url", repairs)
    complete_url(record, "sourceUrl", repairs)
    repair_image_url(record, "imageUrl", repairs, bases=("url", "sourceUrl"))


_FINISHERS = {
    RecordType.VEHICLES: _finish_vehicle,
    RecordType.EVENTS: _finish_event,
    RecordType.ARTICLES: _finish_article,
}


def finish(mapped: Mapped, record_type: RecordType) -> Mapped:
    """Apply the record type's repairs to a mapped record; never raises on odd values."""
    if isinstance(mapped.record, dict):
        _FINISHERS[record_type](mapped.record, mapped.repairs, mapped.errors)
    return mapped
