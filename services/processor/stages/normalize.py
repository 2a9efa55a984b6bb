"""Normalize a raw value: map it from its source's shape to the canonical record, and repair it.

The mapper is chosen by the raw file's tool (``sources.tool_of``); the per-source mappers and the
repairs are the ``sources`` package. Normalizing never raises: it returns what it can, with its
repairs and any source failure, and the check reports the rest.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import structlog

from shared.events import RecordType

from ..sources import MAPPERS, apify, drop
from ..sources.common import Mapped, finish, source_error

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class Normalizer:
    """Maps and repairs the items of one raw file."""

    tool: str
    source: str
    record_type: RecordType
    apify_maps_file: Path | None = None

    def __call__(self, item: Any) -> Mapped:
        """Return the item mapped to the canonical fields and repaired; never raises."""
        try:
            if self.tool == "apify":
                maps = apify.load_field_maps(self.apify_maps_file or apify.DEFAULT_MAPS_FILE)
                mapped = apify.map_item(item, self.record_type, self.source, maps)
            else:
                mapped = MAPPERS.get(self.tool, drop.map_item)(item, self.record_type, self.source)
            return finish(mapped, self.record_type)
        except Exception as exc:  # noqa: BLE001 - a mapper bug must not lose the record's report
            log.warning("normalize.failed", tool=self.tool, error=repr(exc))
            return Mapped(item, errors=[source_error("", "mapper_failed", repr(exc)[:200], None)])
