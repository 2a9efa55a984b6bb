"""A chunk of mapped records as columns: one Python list and one Polars column per input key.

Reading the dicts is the part of the columnar check that stays in Python, so it is kept to
C-level passes (``map``, ``set``, list comprehensions) in the common case. A value of a type
the columns do not hold (a list for a make, a bool for a year, a float for a price) or that
cannot be stored in them (a lone surrogate, an integer past 64 bits) marks its record as left
to the model, and its cell is null.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from itertools import repeat
from typing import Any

import polars as pl

from .fields import CHOICE_FIELDS, KEYS, PRICE_KEY, SNAKE_KEYS, TEXT_FIELDS, YEAR_KEY

_NONE = type(None)
_TEXT_TYPES: frozenset[type] = frozenset({str, _NONE})
_YEAR_TYPES: frozenset[type] = frozenset(
    {int, _NONE}
)  # bool is not int here: the model reads True as 1
_PRICE_TYPES: frozenset[type] = frozenset(
    {int, str, Decimal, _NONE}
)  # a float never leaves the normalizer
_INT64 = (-(2**63), 2**63)
STRING_KEYS: tuple[str, ...] = (
    *(f.key for f in TEXT_FIELDS),
    *(f.key for f in CHOICE_FIELDS),
)


@dataclass
class Columns:
    """The chunk's values by input key, the records left to the model, and each one's keys."""

    values: dict[str, list[Any]]  # input key -> the records' values (None: missing or odd)
    frame: pl.DataFrame  # the same as columns; the price as its decimal text
    odd: list[bool]  # the record is left to the model whatever the rules say
    fields_set: list[frozenset[str]]  # the model fields each record gives (keys present)


def read(records: list[Any]) -> Columns:
    """Return the records as columns; a record that is not a plain dict is odd."""
    odd = [type(r) is not dict for r in records]
    dicts = [{} if bad else r for r, bad in zip(records, odd, strict=True)] if any(odd) else records
    fields_set = _fields_sets(dicts, odd)
    values = {key: list(map(dict.get, dicts, repeat(key))) for key in KEYS.values()}
    series = []
    for key in STRING_KEYS:
        values[key], column = _strings(key, values[key], odd)
        series.append(column)
    values[YEAR_KEY], column = _years(values[YEAR_KEY], odd)
    series.append(column)
    values[PRICE_KEY] = _screen(values[PRICE_KEY], _PRICE_TYPES, odd)
    series.append(_strings(PRICE_KEY, _price_texts(values[PRICE_KEY]), odd)[1])
    return Columns(values, pl.DataFrame(series, height=len(records)), odd, fields_set)


def _fields_sets(dicts: list[Any], odd: list[bool]) -> list[frozenset[str]]:
    """Return the fields each record gives; a record naming a field in snake_case is odd.

    Records of one source share a few key orders, so the work is done once per key order.
    """
    shapes = list(map(tuple, dicts))
    given: dict[tuple[str, ...], frozenset[str]] = {}
    snake: set[tuple[str, ...]] = set()
    for shape in set(shapes):
        keys = set(shape)
        given[shape] = frozenset(name for name, key in KEYS.items() if key in keys)
        if not keys.isdisjoint(SNAKE_KEYS):
            snake.add(shape)
    if snake:
        for i, shape in enumerate(shapes):
            if shape in snake:
                odd[i] = True
    return list(map(given.__getitem__, shapes))


def _screen(values: list[Any], allowed: frozenset[type], odd: list[bool]) -> list[Any]:
    """Return the values with those of another type as None, and mark their records odd."""
    if set(map(type, values)) <= allowed:
        return values
    out = list(values)
    for i, value in enumerate(values):
        if type(value) not in allowed:
            odd[i] = True
            out[i] = None
    return out


def _strings(name: str, values: list[Any], odd: list[bool]) -> tuple[list[Any], pl.Series]:
    """Return the screened values and their String column."""
    values = _screen(values, _TEXT_TYPES, odd)
    try:
        return values, pl.Series(name, values, dtype=pl.String)
    except UnicodeEncodeError:  # a lone surrogate: Python holds it, UTF-8 cannot
        values = _blank_unless(values, _utf8, odd)
        return values, pl.Series(name, values, dtype=pl.String)


def _years(values: list[Any], odd: list[bool]) -> tuple[list[Any], pl.Series]:
    """Return the screened years and their Int64 column."""
    values = _screen(values, _YEAR_TYPES, odd)
    try:
        return values, pl.Series(YEAR_KEY, values, dtype=pl.Int64)
    except (TypeError, OverflowError):  # an integer past 64 bits
        values = _blank_unless(values, _int64, odd)
        return values, pl.Series(YEAR_KEY, values, dtype=pl.Int64)


def _price_texts(values: list[Any]) -> list[str | None]:
    """Return each price as decimal text (``str`` of an int or Decimal), None when absent."""
    return [v if v is None or type(v) is str else str(v) for v in values]


def _blank_unless(values: Iterable[Any], check: Any, odd: list[bool]) -> list[Any]:
    out = []
    for i, value in enumerate(values):
        keep = value is None or check(value)
        if not keep:
            odd[i] = True
        out.append(value if keep else None)
    return out


def _utf8(value: str) -> bool:
    try:
        value.encode()
    except UnicodeEncodeError:
        return False
    return True


def _int64(value: int) -> bool:
    return _INT64[0] <= value < _INT64[1]
