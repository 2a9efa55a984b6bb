"""Day ranges of the HTTP query string: ``?date=D`` or ``?from=D&to=D`` (UTC days)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

import orjson
from aiohttp import web

from shared.events import utcnow


def parse_range(query: Mapping[str, str]) -> tuple[date, date]:
    """Return the inclusive day range of ``date=D``, or ``from=D&to=D`` (``to`` defaults to today).

    Raises:
        ValueError: a date is not ``YYYY-MM-DD``, or ``from`` is after ``to``.
    """
    if query.get("date"):
        day = _day(query["date"], utcnow().date())
        return day, day
    end = _day(query.get("to"), utcnow().date())
    start = _day(query.get("from"), end)
    if start > end:
        msg = f"from {start} is after to {end}"
        raise ValueError(msg)
    return start, end


def range_or_400(query: Mapping[str, str]) -> tuple[date, date]:
    """Return ``parse_range(query)``, or raise a JSON 400 response naming the problem."""
    try:
        return parse_range(query)
    except ValueError as exc:
        body = orjson.dumps({"error": str(exc)}).decode()
        raise web.HTTPBadRequest(text=body, content_type="application/json") from None


def _day(value: str | None, default: date) -> date:
    if not value:
        return default
    try:
        return date.fromisoformat(value)
    except ValueError:
        msg = f"not a YYYY-MM-DD date: {value!r}"
        raise ValueError(msg) from None
