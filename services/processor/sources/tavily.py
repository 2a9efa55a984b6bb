"""Tavily results: title, url, content (snippet), raw_content, published_date, score."""

from __future__ import annotations

from typing import Any

from shared.events import RecordType

from . import brave
from .common import Mapped, pick

MIN_SCORE = 0.0  # Tavily's relevance score; weak hits are kept, the score is recorded


def map_item(item: Any, record_type: RecordType, source: str) -> Mapped:
    """Map one Tavily result: articles take the page text as body, others go as Brave's."""
    if not isinstance(item, dict):
        return Mapped(item)
    if record_type is not RecordType.ARTICLES:
        shaped = {**item, "description": pick(item, "content|raw_content")}
        return brave.map_item(shaped, record_type, source)
    record = {
        "title": pick(item, "title"),
        "url": pick(item, "url"),
        "summary": _clip(pick(item, "content"), 2000),
        "body": pick(item, "raw_content"),
        "publishedDate": pick(item, "published_date"),
        "sourceName": pick(item, "sourceName") or source,
    }
    return Mapped({key: value for key, value in record.items() if value is not None})


def _clip(text: Any, limit: int) -> Any:
    return text[:limit] if isinstance(text, str) else text
