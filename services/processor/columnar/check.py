"""Decide a chunk of mapped vehicle records in Polars; build the certainly valid ones directly.

``check_vehicles`` is the fast path in front of ``Vehicle.model_validate``: for each record it
returns the ``Vehicle`` the model would return, built without validating again, or None where
the model must decide (a refusal, whose messages only the model gives, or a shape the columnar
rules do not cover exactly). None is always safe: it costs the model's time, never a decision.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from shared.records import Vehicle, choice_key, choice_spellings, latest_year

from . import ingest, rules
from .fields import CHOICE_FIELDS, KEYS, PRICE_KEY, TEXT_FIELDS, ChoiceField

FIELD_NAMES: tuple[str, ...] = tuple(Vehicle.model_fields)
_MISSING = object()  # a blank optional value: left out, so the field's default applies
_new = object.__new__
_set = object.__setattr__


def check_vehicles(records: list[Any]) -> list[Vehicle | None]:
    """Return, for each mapped record, its ``Vehicle`` if certainly valid, else None.

    A returned record has the values and ``model_fields_set`` that ``Vehicle.model_validate``
    gives for the same input, so ``to_row()`` and the enricher see the same thing.
    """
    if not records:
        return []
    columns = ingest.read(records)
    spelled = {field.key: _spellings(field, columns.values[field.key]) for field in CHOICE_FIELDS}
    accepted = {key: list(spellings) for key, spellings in spelled.items()}
    decided = columns.frame.select(rules.decisions(latest_year(), accepted))
    verdicts = decided[rules.OK].to_list()
    ok = [good and not odd for good, odd in zip(verdicts, columns.odd, strict=True)]
    if not any(ok):
        return [None] * len(records)
    fields_set = [set(given) for given in columns.fields_set]
    values: dict[str, list[Any]] = {}
    for text in TEXT_FIELDS:
        column = list(columns.values[text.key])
        _patch(column, decided[rules.tidied_column(text.key)].to_list())
        if not text.required:
            _leave_out(text.name, column, _flags(decided, text.key), fields_set)
        values[text.name] = column
    for choice in CHOICE_FIELDS:
        column = list(map(spelled[choice.key].get, columns.values[choice.key]))
        _leave_out(choice.name, column, (v is _MISSING for v in column), fields_set)
        values[choice.name] = column
    values["year"] = columns.values[KEYS["year"]]
    price_blank = _flags(decided, PRICE_KEY)
    values["price"] = _prices(columns.values[PRICE_KEY], ok, price_blank)
    _leave_out("price", values["price"], price_blank, fields_set)
    lists = [values[name] for name in FIELD_NAMES]
    return [
        _construct(dict(zip(FIELD_NAMES, row, strict=True)), given) if good else None
        for good, given, row in zip(ok, fields_set, zip(*lists, strict=True), strict=True)
    ]


def _spellings(field: ChoiceField, values: list[Any]) -> dict[str, Any]:
    """Return, for each distinct text the chunk gives a choice, what the model makes of it.

    A blank text is left out (``_MISSING``); a text ``choice_key`` reads as one of the enum's
    values is that member; any other text is absent from the result (the model refuses it).
    """
    spellings = choice_spellings(field.enum)
    out: dict[str, Any] = {}
    for value in set(values):
        if type(value) is not str:
            continue
        if not value or value.isspace():  # ``InputRule.apply`` of an optional non-text field
            out[value] = _MISSING
        elif (spelled := spellings.get(choice_key(value))) is not None:
            out[value] = field.enum(spelled)
    return out


def _flags(decided: Any, key: str) -> list[bool]:
    return [bool(flag) for flag in decided[rules.blank_column(key)].to_list()]


def _patch(column: list[Any], tidied: list[str | None]) -> None:
    """Replace each value that tidying changes by its tidied form."""
    for i, text in enumerate(tidied):
        if text is not None:
            column[i] = text


def _leave_out(
    name: str, column: list[Any], blank: Iterable[bool], fields_set: list[set[str]]
) -> None:
    """Leave a blank optional value out: None as its value, and not among the fields set."""
    for i, is_blank in enumerate(blank):
        if is_blank:
            column[i] = None
            fields_set[i].discard(name)


def _prices(values: list[Any], ok: list[bool], blank: list[bool]) -> list[Decimal | None]:
    """Return the accepted records' prices as the model stores them (a Decimal of the input).

    A Decimal is kept as it is (the model returns the same object); an int or a plain decimal
    text becomes ``Decimal(value)``, as the model makes it.
    """
    return [
        None if value is None or not good or empty else _decimal(value)
        for value, good, empty in zip(values, ok, blank, strict=True)
    ]


def _decimal(value: Any) -> Decimal:
    return value if type(value) is Decimal else Decimal(value)


def _construct(values: dict[str, Any], fields_set: set[str]) -> Vehicle:
    """Return what ``Vehicle.model_construct(fields_set, **values)`` returns, ~10x faster.

    The values are every field's, in the model's order; the model has no extra or private
    attributes and no post-init hook, so these four attributes are all it sets.
    """
    record: Vehicle = _new(Vehicle)
    _set(record, "__dict__", values)
    _set(record, "__pydantic_fields_set__", fields_set)
    _set(record, "__pydantic_extra__", None)
    _set(record, "__pydantic_private__", None)
    return record
