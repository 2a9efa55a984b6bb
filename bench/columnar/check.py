"""Decide a chunk of mapped vehicle records in Polars; build the certainly valid ones directly.

``check_vehicles`` is the fast path in front of ``Vehicle.model_validate``: for each record it
returns the ``Vehicle`` the model would return, built without validating again, or None where
the model must decide (a refusal, whose messages only the model gives, or a shape the columnar
rules do not cover exactly). None is always safe: it costs the model's time, never a decision.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import polars as pl

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
    frame = _tidied(columns)
    spelled = {field.key: _spellings(field, columns.values[field.key]) for field in CHOICE_FIELDS}
    accepted = {key: list(spellings) for key, spellings in spelled.items()}
    decided = frame.select(rules.decisions(latest_year(), accepted))
    verdicts = decided[rules.OK].to_list()
    ok = [good and not odd for good, odd in zip(verdicts, columns.odd, strict=True)]
    if not any(ok):
        return [None] * len(records)
    fields_set = list(columns.fields_set)  # shared frozensets, replaced where a value is blank
    values: dict[str, list[Any]] = {}
    for text in TEXT_FIELDS:
        values[text.name] = columns.values[text.key]
        if not text.required:
            _leave_out(text.name, values[text.name], decided, text.key, fields_set)
    for choice in CHOICE_FIELDS:
        column = list(map(spelled[choice.key].get, columns.values[choice.key]))
        for i, value in enumerate(column):
            if value is _MISSING:
                column[i] = None
                fields_set[i] = fields_set[i] - {choice.name}
        values[choice.name] = column
    values["year"] = columns.values[KEYS["year"]]
    values["price"] = _prices(columns.values[PRICE_KEY], ok)
    _leave_out("price", values["price"], decided, PRICE_KEY, fields_set)
    rows = zip(*(values[name] for name in FIELD_NAMES), strict=True)
    out: list[Vehicle | None] = []
    for good, given, row in zip(ok, fields_set, rows, strict=True):
        if not good:
            out.append(None)
            continue
        # What Vehicle.model_construct(given, **values) returns (the model has no extra or
        # private attributes and no post-init hook), without its per-field lookups (~10x).
        record: Vehicle = _new(Vehicle)
        _set(record, "__dict__", dict(zip(FIELD_NAMES, row, strict=True)))
        _set(record, "__pydantic_fields_set__", set(given))
        _set(record, "__pydantic_extra__", None)
        _set(record, "__pydantic_private__", None)
        out.append(record)
    return out


def _tidied(columns: ingest.Columns) -> pl.DataFrame:
    """Return the frame with its text tidied; patch the Python columns the same way.

    Only the cells tidying changes are rewritten (most text is already tidy).
    """
    frame = columns.frame
    untidy = frame.select(rules.untidy())
    for name in untidy.columns:
        rows = untidy[name].arg_true()
        if rows.len() == 0:
            continue
        tidied = frame[name].gather(rows).to_frame().select(rules.tidy(pl.col(name)))[name]
        frame = frame.with_columns(frame[name].scatter(rows, tidied))
        column = columns.values[name] = list(columns.values[name])
        for i, text in zip(rows.to_list(), tidied.to_list(), strict=True):
            column[i] = text
    return frame


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


def _leave_out(
    name: str,
    column: list[Any],
    decided: pl.DataFrame,
    key: str,
    fields_set: list[frozenset[str]],
) -> None:
    """Leave blank optional values out: None as the value, and not among the fields set."""
    blank = decided[rules.blank_column(key)]
    if not blank.any():
        return
    for i in blank.arg_true().to_list():
        column[i] = None
        fields_set[i] = fields_set[i] - {name}


def _prices(values: list[Any], ok: list[bool]) -> list[Decimal | None]:
    """Return the accepted records' prices as the model stores them (a Decimal of the input).

    A Decimal is kept as it is (the model returns the same object); an int or a plain decimal
    text becomes ``Decimal(value)``, as the model makes it. A blank text is left out after.
    """
    return [
        value
        if type(value) is Decimal or value is None
        else None
        if not good or (type(value) is str and (not value or value.isspace()))
        else Decimal(value)
        for value, good in zip(values, ok, strict=True)
    ]
