"""Lenient dates: event ranges ("June 12-14, 2026") and article dates (ISO, HTTP-date, prose)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from email.utils import parsedate_to_datetime
from typing import Any

from dateutil import parser as date_parser

from .repairs import Repairs

_DASH = "\\s*(?:-|\u2013|\u2014|to|through|thru)\\s*"
_RANGE_RE = re.compile(
    r"(?P<m1>[A-Za-z]{3,9})\.?\s+(?P<d1>\d{1,2})(?:st|nd|rd|th)?"
    + _DASH
    + r"(?:(?P<m2>[A-Za-z]{3,9})\.?\s+)?(?P<d2>\d{1,2})(?:st|nd|rd|th)?"
    + r"(?:,?\s*(?P<y>\d{4}))?"
)
_ISO_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _month_day(month: str, day: str, year: int) -> date | None:
    try:
        parsed: datetime = date_parser.parse(f"{month} {day} {year}")
        return parsed.date()
    except (ValueError, OverflowError):
        return None


def parse_range(text: str, default_year: int | None = None) -> tuple[date, date] | None:
    """Return ``(start, end)`` of a date range text, or None if it holds no range."""
    match = _RANGE_RE.search(text)
    if match is None:
        return None
    year = int(match["y"]) if match["y"] else (default_year or datetime.now(UTC).year)
    start = _month_day(match["m1"], match["d1"], year)
    end = _month_day(match["m2"] or match["m1"], match["d2"], year)
    if start is None or end is None:
        return None
    if end < start and match["m2"]:  # "Dec 30 - Jan 2": the end is in the next year
        end = end.replace(year=end.year + 1)
    return start, end


def parse_date(value: Any) -> date | None:
    """Return the date of an ISO, HTTP-date or prose date ("Sep 1, 2026"), in UTC; else None."""
    if isinstance(value, datetime):
        return _utc_date(value)
    if isinstance(value, date):
        return value
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    if _ISO_DATE_RE.match(text):
        return date.fromisoformat(text)
    try:
        return _utc_date(parsedate_to_datetime(text))
    except (TypeError, ValueError, IndexError):
        pass
    try:
        return _utc_date(date_parser.parse(text))
    except (ValueError, OverflowError):
        return None


def _utc_date(moment: datetime) -> date:
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.date()


def repair_date(record: dict[str, Any], field: str, repairs: Repairs) -> None:
    """Turn a non-ISO date text into an ISO date; record the repair."""
    value = record.get(field)
    if not isinstance(value, str) or _ISO_DATE_RE.match(value.strip()):
        return
    parsed = parse_date(value)
    if parsed is not None:
        record[field] = repairs.add(field, value, parsed.isoformat(), "date_text")


def repair_event_dates(record: dict[str, Any], repairs: Repairs) -> None:
    """Split a date range ("June 12-14, 2026") into startDate/endDate; record the repairs."""
    for field in ("startDate", "dates", "date"):
        value = record.get(field)
        if not isinstance(value, str) or _ISO_DATE_RE.match(value.strip()):
            continue
        found = parse_range(value)
        if found is not None:
            record["startDate"] = repairs.add(
                "startDate", value, found[0].isoformat(), "date_range"
            )
            if record.get("endDate") in (None, ""):
                record["endDate"] = repairs.add(
                    "endDate", value, found[1].isoformat(), "date_range"
                )
            return
        parsed = parse_date(value)
        if parsed is not None and record.get("startDate") in (None, "", value):
            record["startDate"] = repairs.add("startDate", value, parsed.isoformat(), "date_text")
            return
    repair_date(record, "endDate", repairs)
