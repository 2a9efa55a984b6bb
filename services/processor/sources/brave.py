"""Brave web results: ``title``, ``url``, ``description``, ``page_age`` (pointers, not records).

An article is almost complete; a vehicle or an event keeps what the title and snippet give
(year/make/model from the title, a price or a date range from the description).
"""

from __future__ import annotations

from typing import Any

from shared.events import RecordType

from .common import Mapped, pick


def map_item(item: Any, record_type: RecordType, source: str) -> Mapped:
    """Map one Brave web result to the record type's canonical fields."""
    if not isinstance(item, dict):
        return Mapped(item)
    title, url = pick(item, "title"), pick(item, "url")
    snippet = pick(item, "description|extra_snippets.0")
    if record_type is RecordType.ARTICLES:
        record = {
            "title": title,
            "url": url,
            "summary": snippet,
            "publishedDate": pick(item, "page_age|age|article.date"),
        }
    elif record_type is RecordType.EVENTS:
        record = {"name": title, "url": url, "description": snippet, "dates": snippet}
        record["eventType"] = pick(item, "eventType|event_type")
        record["city"] = pick(item, "city")
    else:
        price = pick(item, "product.offers.0.price|price") or _price_text(snippet)
        record = {"title": title, "sourceUrl": url, "description": snippet, "price": price}
    record["sourceName"] = pick(item, "sourceName") or source
    return Mapped({key: value for key, value in record.items() if value is not None})


def _price_text(text: Any) -> str | None:
    if isinstance(text, str) and "$" in text:
        return text[text.index("$") :]
    return None
