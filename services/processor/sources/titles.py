"""Parse "1967 Ford Mustang Fastback 4-Speed" into year, make and model."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from .repairs import Repairs, tidy_model
from .vocabulary import MAKE_ALIASES, MAKE_SPELLING, MAKE_WORDS, TITLE_NOISE

MIN_TITLE_YEAR = 1885
_YEAR_RE = re.compile(r"(?<![\d$])(18[89]\d|19\d\d|20\d\d)(?![\d,])")
_NOISE_RE = re.compile("|".join(TITLE_NOISE), re.IGNORECASE)


def parse_title(title: str) -> dict[str, Any]:
    """Return the ``year``, ``make`` and ``model`` a listing title gives (only those found)."""
    found: dict[str, Any] = {}
    rest = title
    max_year = datetime.now(UTC).year + 1
    for match in _YEAR_RE.finditer(title):
        year = int(match.group(1))
        if MIN_TITLE_YEAR <= year <= max_year:
            found["year"] = year
            rest = title[match.end() :]
            break
    rest = " ".join(_NOISE_RE.sub(" ", rest).split()).strip(" -:,")
    lowered = rest.lower()
    for spelling, make in MAKE_WORDS:
        if lowered == spelling or lowered.startswith(spelling + " "):
            found["make"] = MAKE_ALIASES.get(spelling) or MAKE_SPELLING.get(spelling, make)
            rest = rest[len(spelling) :].strip(" -:,")
            break
    if "make" in found and rest:
        found["model"] = tidy_model(rest)
    return found


def fill_from_title(record: dict[str, Any], title_field: str, repairs: Repairs) -> None:
    """Fill missing year, make and model from the title; record each as a repair."""
    title = record.get(title_field)
    if not isinstance(title, str) or not title.strip():
        return
    missing = [field for field in ("year", "make", "model") if record.get(field) in (None, "")]
    if not missing:
        return
    parsed = parse_title(title)
    for field in missing:
        if field in parsed:
            record[field] = repairs.add(field, None, parsed[field], "title_parse")
