"""An event's type when its source gave none, or one no vocabulary knows: read from its words.

The type classifies an event, it does not identify it, so an event is never refused for want of
one. The name is read first, then the description; in each, the first type of ``KEYWORDS``
whose words occur wins (a "Swap Meet" is a swap meet before it is a meet). Nothing found is
``other``. Either way the change is a repair with its rule, so a reader sees it was inferred.
"""

from __future__ import annotations

import re
from typing import Any

from shared.records import EventType, choice_key, choice_spellings

from .repairs import Repairs
from .vocabulary import EVENT_TYPE_ALIASES

INFERRED = "event_type_inferred"
OTHER = "event_type_other"

# Most specific first; words as ``choice_key`` writes them ("cars & coffee" -> "cars and coffee").
KEYWORDS: tuple[tuple[EventType, tuple[str, ...]], ...] = (
    (EventType.SWAP_MEET, ("swap meet", "swap meets", "swapmeet", "autojumble", "parts swap")),
    (EventType.CONCOURS, ("concours", "concorso", "d elegance", "delegance")),
    (EventType.AUCTION, ("auction", "auctions")),
    (EventType.RALLY, ("rally", "rallye", "rallies", "road tour")),
    (
        EventType.RACE,
        ("race", "races", "racing", "grand prix", "hill climb", "hillclimb", "track day"),
    ),
    (EventType.CRUISE, ("cruise", "cruise in", "cruise night", "cruise nights", "cruisin")),
    (EventType.SHOW, ("show", "shows", "car show", "expo", "exhibition", "autorama", "motorama")),
    (EventType.MEET, ("meet", "meetup", "meet up", "cars and coffee", "gathering")),
)
_PATTERNS = tuple(
    (kind, re.compile(r"\b(?:" + "|".join(re.escape(word) for word in words) + r")\b"))
    for kind, words in KEYWORDS
)


def infer_event_type(*texts: Any) -> EventType | None:
    """Return the type the first text with a keyword names (``KEYWORDS`` order), else None."""
    for text in texts:
        if not isinstance(text, str) or not text.strip():
            continue
        key = choice_key(text)
        for kind, pattern in _PATTERNS:
            if pattern.search(key):
                return kind
    return None


def _known(value: Any) -> bool:
    """Return whether a given type is one the records read (a value, member name or synonym)."""
    if not isinstance(value, str):
        return False
    key = choice_key(value)
    return key in choice_spellings(EventType) or key in EVENT_TYPE_ALIASES


def fill_event_type(record: dict[str, Any], repairs: Repairs) -> None:
    """Give an event without a known type one from its name or description, else ``other``.

    A type the vocabularies know is left to ``repair_choice``; a missing, blank or unknown one
    ("parade") is replaced and recorded (``event_type_inferred`` or ``event_type_other``), the
    value given kept as the repair's ``from``.
    """
    given = record.get("eventType")
    if _known(given):
        return
    inferred = infer_event_type(record.get("name"), record.get("description"))
    kind, rule = (inferred, INFERRED) if inferred is not None else (EventType.OTHER, OTHER)
    record["eventType"] = repairs.add("eventType", given, kind.value, rule)
