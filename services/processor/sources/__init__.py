"""Per-source mappers: a raw item of any source becomes the canonical camelCase record.

The mapper is chosen by the raw file's tool, the file-name prefix before ``_NNN``
(``apify_003.json`` -> apify, mapped by its field maps); an unknown tool maps like a dropped
file. The normalize stage (``stages.normalize``) runs a file's mapper and repairs on each item.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from shared.events import RecordType

from . import brave, drop, feed, jina, perplexity, tavily
from .common import SOURCE_RULE, Mapped

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

__all__ = ["MAPPERS", "SOURCE_RULE", "Mapped", "tool_of"]


def tool_of(raw_name: str) -> str:
    """Return the tool of a raw file name: the prefix before ``_NNN`` (``apify_003.json``)."""
    stem = raw_name.split(".", 1)[0]
    match = _TOOL_RE.match(stem)
    tool = (match["tool"] if match else stem).lower()
    return tool if tool in MAPPERS or tool == "apify" else "drop"
