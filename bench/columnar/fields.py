"""The vehicle model's fields as the columnar check reads them: input key, kind and bounds.

A transcription of ``shared.records.Vehicle`` for the shapes the columnar check decides: text
and URL fields with their length bounds, the year, the price and the three choice fields.
``tests/unit/processor/test_columnar_differential.py`` holds it to the model (every field, the
same bounds as the model's JSON schema), so a change of the model that this table does not
follow fails there, not in production.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from shared.records import (
    MAX_PRICE,
    MIN_PRICE,
    MIN_YEAR,
    VehicleCategory,
    VehicleCondition,
    VehicleRegion,
)


@dataclass(frozen=True)
class TextField:
    """A text or URL field: tidied (trimmed, single-spaced, NUL as U+FFFD), then bounded."""

    name: str  # the model's field name (the row's column)
    key: str  # the input key (camelCase alias)
    min_chars: int
    max_chars: int
    required: bool
    url: bool = False


@dataclass(frozen=True)
class ChoiceField:
    """An optional choice: any spelling ``choice_key`` reads as one of the enum's values."""

    name: str
    key: str
    enum: type[StrEnum]


URL_MAX_CHARS = 2048
"""Longer URLs (the model takes up to 65,536 characters) are left to the model."""

TEXT_FIELDS: tuple[TextField, ...] = (
    TextField("source_name", "sourceName", 1, 100, required=True),
    TextField("source_url", "sourceUrl", 1, URL_MAX_CHARS, required=False, url=True),
    TextField("make", "make", 1, 100, required=True),
    TextField("model", "model", 1, 100, required=True),
    TextField("description", "description", 0, 5000, required=False),
    TextField("image_url", "imageUrl", 1, URL_MAX_CHARS, required=False, url=True),
    TextField("location_city", "locationCity", 0, 100, required=False),
    TextField("location_state", "locationState", 2, 2, required=False),
    TextField("stock_number", "stockNumber", 0, 100, required=False),
)
CHOICE_FIELDS: tuple[ChoiceField, ...] = (
    ChoiceField("location_region", "locationRegion", VehicleRegion),
    ChoiceField("category", "category", VehicleCategory),
    ChoiceField("condition", "condition", VehicleCondition),
)
YEAR_KEY = "year"
PRICE_KEY = "price"

KEYS: dict[str, str] = {
    **{f.name: f.key for f in TEXT_FIELDS},
    **{f.name: f.key for f in CHOICE_FIELDS},
    "year": YEAR_KEY,
    "price": PRICE_KEY,
}
"""Input key by field name, for every field of the model."""
SNAKE_KEYS: tuple[str, ...] = tuple(name for name, key in KEYS.items() if name != key)
"""Field names that differ from their input key: a record using one is left to the model
(which also reads them, and prefers the camelCase key when both are given)."""

WHITESPACE = (
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005"
    "\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)
"""Every character ``str.isspace`` is true of: what ``str.split()`` splits text on."""


def _char_class(chars: str) -> str:
    return "[" + "".join(f"\\x{{{ord(c):x}}}" for c in chars) + "]"


WHITESPACE_RUN = _char_class(WHITESPACE) + "+"
UNTIDY = _char_class("\x00" + WHITESPACE.replace(" ", "")) + "|  |^ | $"
"""Text that tidying changes: NUL, whitespace other than a space, two spaces, an outer space."""
BLANK = "^" + _char_class(WHITESPACE) + "*$"
"""Text that is empty or only whitespace (``not value or value.isspace()``)."""

_LABEL = "[A-Za-z0-9]+(?:-[A-Za-z0-9]+)*"
URL_PATTERN = (
    rf"^https?://(?:{_LABEL}\.)*[A-Za-z](?:[A-Za-z0-9]*(?:-[A-Za-z0-9]+)*)"
    r"(?::[0-9]{1,4})?(?:[/?#][!-~]*)?$"
)
"""http(s) URLs the WHATWG parser certainly accepts: a host of ASCII labels (no "--", so no
punycode; the last label starts with a letter, so it is never read as an IPv4 number), a port
below 10,000, and printable ASCII after the host (the parser never fails on a path, query or
fragment). Any other URL, valid or not, is left to the model."""

PRICE_PATTERN = r"^[0-9]{1,12}(?:\.[0-9]{1,2})?$"
"""Prices in plain decimal notation with at most two decimals: 12 digits keep the comparison
with the bounds exact in a double."""
PRICE_BOUNDS = (float(MIN_PRICE), float(MAX_PRICE))
YEAR_MIN = MIN_YEAR
