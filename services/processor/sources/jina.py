"""Jina Reader pages: title, url, content (markdown), publishedTime, description.

The payload may be wrapped as ``{"data": {...}}``. ``publishedTime`` can be an HTTP date.
"""

from __future__ import annotations

from typing import Any

from shared.events import RecordType

from . import brave
from .common import Mapped, pick


def map_item(item: Any, record_type: RecordType, source: str) -> Mapped:
    """Map one Jina Reader page to the record type's canonical fields."""
    if not isinstance(item, dict):
        return Mapped(item)
    page = item["data"] if isinstance(item.get("data"), dict) else item
    if record_type is not RecordType.ARTICLES:
        shaped = {**page, "description": pick(page, "description|content")}
        return brave.map_item(shaped, record_type, source)
    record = {
        "title": pick(page, "title"),
        "url": pick(page, "url"),
        "summary": pick(page, "description"),
        "body": pick(page, "content"),
        "publishedDate": pick(page, "publishedTime|published_time"),
        "sourceName": pick(page, "sourceName") or source,
    }
    return Mapped({key: value for key, value in record.items() if value is not None})
