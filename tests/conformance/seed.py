"""The seed's ``vehicleSchema`` and ``DataValidator`` rules, transcribed line by line.

An oracle for the conformance table: it says what the seed itself would do with a record, so the
table's "seed" column is checked, not just written. It follows zod's semantics: ``.optional()``
accepts a missing key but not ``null``; ``z.string()`` does not trim and refuses numbers;
``z.number().int()`` refuses strings; ``.url()`` accepts what the WHATWG URL parser accepts
(pydantic-core's parser implements the same standard as JavaScript's ``new URL``); unknown keys
are stripped. It is not the product's code and must not import it.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from pydantic_core import SchemaValidator, ValidationError, core_schema

_URL = SchemaValidator(core_schema.url_schema())
_PRICE = re.compile(r"^\d+(\.\d{2})?$")
REGIONS = ("West", "South", "Midwest", "Northeast", "Europe", "Asia", "Oceania")
CATEGORIES = (
    "Muscle Cars", "Sports Cars", "Classic Cars", "Hot Rods", "Restomods", "Luxury Cars", "Trucks",
)  # fmt: skip
CONDITIONS = ("Excellent", "Very Good", "Good", "Fair", "Project")


def _string(
    value: Any, *, min_len: int = 0, max_len: int | None = None, length: int | None = None
) -> bool:
    if not isinstance(value, str) or len(value) < min_len:
        return False
    if max_len is not None and len(value) > max_len:
        return False
    return length is None or len(value) == length


def _url(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    try:
        _URL.validate_python(value)
    except ValidationError:
        return False
    return True


def _year(value: Any) -> bool:
    if isinstance(value, bool) or not isinstance(value, int | float) or value != int(value):
        return False
    return 1900 <= value <= datetime.now(UTC).year + 2


FIELDS: dict[str, tuple[bool, Any]] = {  # field -> (required, check)
    "make": (True, lambda v: _string(v, min_len=1, max_len=100)),
    "model": (True, lambda v: _string(v, min_len=1, max_len=100)),
    "year": (True, _year),
    "price": (False, lambda v: isinstance(v, str) and _PRICE.match(v) is not None),
    "description": (False, lambda v: _string(v, max_len=5000)),
    "imageUrl": (False, _url),
    "locationCity": (False, lambda v: _string(v, max_len=100)),
    "locationState": (False, lambda v: _string(v, length=2)),
    "locationRegion": (False, lambda v: v in REGIONS),
    "category": (False, lambda v: v in CATEGORIES),
    "condition": (False, lambda v: v in CONDITIONS),
    "sourceName": (True, lambda v: _string(v, max_len=100)),
    "sourceUrl": (True, _url),
    "stockNumber": (False, lambda v: _string(v, max_len=100)),
}


def seed_verdict(record: dict[str, Any]) -> tuple[bool, list[str]]:
    """Return whether the seed accepts ``record``, and the fields it refuses (schema, rules)."""
    refused = [
        name
        for name, (required, check) in FIELDS.items()
        if (name in record and not check(record[name])) or (required and name not in record)
    ]
    if refused:
        return False, refused
    rules = []
    price = record.get("price")
    if price and not 1000 <= float(price) <= 10_000_000:  # "if (validated.price)": a string
        rules.append("price")
    if record["year"] < 1920:
        rules.append("year")
    return not rules, rules
