"""Apify dataset items: one field map per actor, because every actor names its fields its own way.

A field map is ``{actor: {record type: {canonical field: "src|alt.path"}}}``; the first
non-empty source path wins. The actor is the item's ``actorId`` (or ``_actor``) when a map of
that name exists, else ``default`` (a Bring-a-Trailer-style listing actor). The maps ship in
``apify_field_maps.json`` and can be replaced with ``PROCESSOR_APIFY_FIELD_MAPS_FILE``.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import orjson

from shared.events import RecordType

from .common import Mapped, pick

DEFAULT_MAPS_FILE = Path(__file__).with_name("apify_field_maps.json")
FieldMaps = dict[str, dict[str, dict[str, str]]]


@lru_cache(maxsize=8)
def load_field_maps(path: Path = DEFAULT_MAPS_FILE) -> FieldMaps:
    """Read and check a field-maps file (actor -> record type -> field -> source paths).

    Raises:
        ValueError: the file is not such a mapping or has no ``default`` actor.
    """
    data = orjson.loads(path.read_bytes())
    valid = isinstance(data, dict) and all(
        isinstance(types, dict)
        and all(
            isinstance(fields, dict) and all(isinstance(v, str) for v in fields.values())
            for fields in types.values()
        )
        for types in data.values()
    )
    if not valid or "default" not in data:
        msg = f"{path}: expected {{actor: {{record type: {{field: 'path|alt'}}}}}} with 'default'"
        raise ValueError(msg)
    maps: FieldMaps = data
    return maps


def map_item(
    item: Any, record_type: RecordType, source: str, maps: FieldMaps | None = None
) -> Mapped:
    """Map one Apify item with its actor's field map."""
    if not isinstance(item, dict):
        return Mapped(item)
    maps = maps or load_field_maps()
    actor = pick(item, "actorId|_actor")
    fields = (maps.get(str(actor)) or maps["default"]).get(record_type.value) or {}
    record = {name: pick(item, paths) for name, paths in fields.items()}
    record = {name: value for name, value in record.items() if value is not None}
    record.setdefault("sourceName", source)
    return Mapped(record)
