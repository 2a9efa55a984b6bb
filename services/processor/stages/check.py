"""Check a normalized value: validate it into its record, or report every reason it fails.

No I/O here. An error is ``{"field", "rule", "message", "value"}``; rules of type
``business_rule`` are business-rule failures, every other type is a schema failure. A value that
fails gets a failure line (``failure_line``), and its errors count in the file's summary by
reason (``reason_key``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

import orjson
from pydantic import ValidationError
from pydantic_core import ErrorDetails

from shared.records import Record

from ..seen import DigestSet
from .write import dumps_line

BUSINESS_RULE = "business_rule"
SOURCE_PREFIX = "source_"  # rules of failures found while mapping a source's item
NOT_AN_OBJECT = "not_an_object"
MAX_VALUE_CHARS = 200
_PLAIN = (str, int, float, bool, type(None))


def validate(value: Any, model: type[Record]) -> Record | list[dict[str, Any]]:
    """Return the validated record, or every error found in ``value``."""
    if not isinstance(value, dict):
        return [
            {
                "field": "",
                "rule": NOT_AN_OBJECT,
                "message": "not an object",
                "value": safe_value(value),
            }
        ]
    try:
        return model.model_validate(value)
    except ValidationError as exc:
        return [field_error(detail) for detail in exc.errors(include_url=False)]


def with_source_errors(
    source: list[dict[str, Any]], outcome: Record | list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Return a record's failures: the mapping's, then validation's on the other fields.

    A field the mapping already failed with its reason (a price in another currency) is not
    reported a second time by validation ("Input should be a valid decimal").
    """
    if not isinstance(outcome, list):
        return list(source)
    explained = {error["field"] for error in source}
    return [*source, *(error for error in outcome if error["field"] not in explained)]


def field_error(detail: ErrorDetails) -> dict[str, Any]:
    """Turn one pydantic error into the processor's error shape."""
    rule = detail["type"]
    return {
        "field": ".".join(str(part) for part in detail["loc"]),
        "rule": rule,
        "message": detail["msg"],
        "value": None if rule == "missing" else safe_value(detail.get("input")),
    }


def safe_value(value: Any) -> Any:
    """Return ``value`` if it is short and JSON-safe, else a truncated repr of it."""
    if isinstance(value, Decimal):
        value = str(value)
    elif not isinstance(value, _PLAIN):
        value = repr(value)
    if isinstance(value, str) and len(value) > MAX_VALUE_CHARS:
        return value[:MAX_VALUE_CHARS] + "..."
    return value


def first_in_file(row: Mapping[str, Any], seen: DigestSet) -> bool:
    """Say whether ``row`` is the first of its exact record in its file; remember it in ``seen``.

    An exact repeat (the same ``data_hash``) is dropped where it is read, before enrichment, and
    counted in ``duplicates_in_batch``; a record repeated from other files is linking's.
    """
    return seen.add(bytes.fromhex(row["data_hash"]))


def reason_key(error: Mapping[str, Any]) -> str:
    """Return the aggregated reason of an error.

    ``business_rule:field``, ``source:field:rule`` (found while mapping the source's item) or
    ``schema:field:rule``. Only the top-level field counts (``tags.3`` is ``tags``), so the key
    set stays small.
    """
    field = str(error["field"]).split(".", 1)[0] or "record"
    if error["rule"] == BUSINESS_RULE:
        return f"{BUSINESS_RULE}:{field}"
    if str(error["rule"]).startswith(SOURCE_PREFIX):
        return f"source:{field}:{error['rule'].removeprefix(SOURCE_PREFIX)}"
    return f"schema:{field}:{error['rule']}"


def count_reasons(errors: Iterable[Mapping[str, Any]], counts: dict[str, int]) -> None:
    """Add one to ``counts`` for each error's reason key."""
    for error in errors:
        key = reason_key(error)
        counts[key] = counts.get(key, 0) + 1


def failure_line(
    raw_file: str,
    position: int,
    errors: list[dict[str, Any]],
    value: Any,
    repairs: list[dict[str, Any]] | None = None,
) -> bytes:
    """Serialize the failure line of an invalid record; an unserializable record becomes a repr.

    ``repairs`` made before validation are kept, so a reader sees what the record became.
    """
    entry: dict[str, Any] = {
        "raw_file": raw_file,
        "position": position,
        "errors": errors,
        "record": value,
    }
    if repairs:
        entry["repairs"] = list(repairs)
    try:
        return dumps_line(entry)
    except (orjson.JSONEncodeError, ValueError, OverflowError):
        entry["record"] = safe_value(repr(value))
        return dumps_line(entry)
