"""Perplexity records: our camelCase schema plus ``_citations`` and ``_search_results``.

The model wrote them, so each is a candidate: a record whose URL is not among its citations or
search results is rejected with a ``source_unsupported_url`` failure.
"""

from __future__ import annotations

from typing import Any

from shared.events import RecordType

from .common import Mapped, source_error
from .urls import canonical_url

URL_FIELD = {RecordType.VEHICLES: "sourceUrl", RecordType.EVENTS: "url", RecordType.ARTICLES: "url"}


def map_item(item: Any, record_type: RecordType, source: str) -> Mapped:
    """Keep the record's fields, drop the evidence keys, and check its URL against them."""
    if not isinstance(item, dict):
        return Mapped(item)
    record = {key: value for key, value in item.items() if not key.startswith("_")}
    record.setdefault("sourceName", source)
    field = URL_FIELD[record_type]
    url = record.get(field) or record.get("source_url" if field == "sourceUrl" else field)
    mapped = Mapped(record)
    if not isinstance(url, str) or canonical_url(url) not in _evidence(item):
        message = "url is not among the response's citations or search results"
        mapped.errors.append(source_error(field, "unsupported_url", message, url))
    return mapped


def _evidence(item: dict[str, Any]) -> set[str]:
    urls: list[Any] = list(item.get("_citations") or [])
    for result in item.get("_search_results") or []:
        if isinstance(result, dict):
            urls.append(result.get("url"))
    return {canonical_url(url) for url in urls if isinstance(url, str)}
