"""Dropped files and feeds: items are already in the seed's fields (camelCase or snake_case)."""

from __future__ import annotations

from typing import Any

from shared.events import RecordType

from .common import Mapped


def map_item(item: Any, record_type: RecordType, source: str) -> Mapped:
    """Return the item as is (a copy); a missing or blank ``sourceName`` is the file's source."""
    del record_type
    if not isinstance(item, dict):
        return Mapped(item)
    record = dict(item)
    given = record.get("sourceName") or record.get("source_name")
    if given is None or (isinstance(given, str) and not given.strip()):
        record.pop("source_name", None)
        record["sourceName"] = source
    return Mapped(record)
