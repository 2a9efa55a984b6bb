"""Per-source mappers: a raw item of any source becomes the canonical camelCase record.

The mapper is chosen by the raw file's tool, the file-name prefix before ``_NNN``
(``apify_003.json`` -> apify); an unknown tool maps like a dropped file. Mapping never raises:
it returns what it can, with its repairs and any source failure, and validation reports the rest.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import structlog

from shared.events import RecordType

from . import apify, brave, drop, feed, jina, perplexity, tavily
from .common import SOURCE_RULE, Mapped, finish, source_error

log = structlog.get_logger(__name__)

Mapper = Callable[[Any, RecordType, str], Mapped]
MAPPERS: dict[str, Mapper] = {
    "drop": drop.map_item,
    "feed": feed.map_item,
    "brave": brave.map_item,
    "tavily": tavily.map_item,
    "perplexity": perplexity.map_item,
    "jina": jina.map_item,
}
_TOOL_RE = re.compile(r"^(?P<tool>.+?)_\d+$")

__all__ = ["SOURCE_RULE", "Mapped", "Normalizer", "tool_of"]


def tool_of(raw_name: str) -> str:
    """Return the tool of a raw file name: the prefix before ``_NNN`` (``apify_003.json``)."""
    stem = raw_name.split(".", 1)[0]
    match = _TOOL_RE.match(stem)
    tool = (match["tool"] if match else stem).lower()
    return tool if tool in MAPPERS or tool == "apify" else "drop"


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
