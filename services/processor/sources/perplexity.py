"""Perplexity records: the fields asked for, plus ``_citations`` and ``_search_results``.

The model wrote them, so each is a candidate: a record whose URL is not among its citations or
search results is rejected with a ``source_unsupported_url`` failure. Keys are read as camelCase
(``start_date`` is ``startDate``), so the repairs apply to them. A listing's ``url`` is its
page (``sourceUrl``), and a ``currency`` other than US dollars goes with the price, which is then
refused with that reason rather than read as dollars.
"""

from __future__ import annotations

from typing import Any

from pydantic.alias_generators import to_camel

from shared.events import RecordType

from .common import Mapped, source_error
from .repairs import foreign_currency
from .urls import canonical_url

URL_FIELD = {RecordType.VEHICLES: "sourceUrl", RecordType.EVENTS: "url", RecordType.ARTICLES: "url"}


def map_item(item: Any, record_type: RecordType, source: str) -> Mapped:
    """Keep the record's fields, drop the evidence keys, and check its URL against them."""
    if not isinstance(item, dict):
        return Mapped(item)
    # The collector's schema names fields in snake_case: as camelCase the repairs read them too.
    record = {to_camel(key): value for key, value in item.items() if not key.startswith("_")}
    record.setdefault("sourceName", source)
    mapped = Mapped(record)
    if record_type is RecordType.VEHICLES:
        _listing_fields(record, mapped.errors)
    field = URL_FIELD[record_type]
    url = record.get(field)
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


def _listing_fields(record: dict[str, Any], errors: list[dict[str, Any]]) -> None:
    """Read a listing's ``url`` as its page, and refuse a price in another currency than USD."""
    url = record.pop("url", None)
    if url is not None and record.get("sourceUrl") in (None, ""):
        record["sourceUrl"] = url
    currency = record.pop("currency", None)
    if not isinstance(currency, str) or currency.strip().upper() in _DOLLARS:
        return
    price = record.get("price")
    if price in (None, ""):
        return
    record["price"] = f"{currency.strip()} {price}"
    if foreign_currency(record["price"]) is None:  # else the finisher refuses it, once
        message = f"the price is in {currency.strip()}, not US dollars: prices are not converted"
        errors.append(source_error("price", "currency", message, record["price"]))


_DOLLARS = frozenset({"", "USD", "US$", "$", "US DOLLAR", "US DOLLARS", "DOLLARS"})
