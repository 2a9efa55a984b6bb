"""The vehicle rules as Polars expressions over a chunk's columns: one pass decides every record.

Text is tidied first (``untidy`` finds the cells that tidying changes, ``tidy`` rewrites only
those), then each field gives an expression that is true where its value is certainly valid
(or absent and optional), and where an optional value is blank (the model leaves it out). A
null in a decision (a missing required value) is a refusal.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import polars as pl

from .fields import (
    BLANK,
    PRICE_BOUNDS,
    PRICE_KEY,
    PRICE_PATTERN,
    TEXT_FIELDS,
    UNTIDY,
    URL_PATTERN,
    WHITESPACE_RUN,
    YEAR_KEY,
    YEAR_MIN,
    TextField,
)

OK = "ok"


def blank_column(key: str) -> str:
    """Return the name of the column true where an optional value is blank (left out)."""
    return f"blank:{key}"


def untidy() -> list[pl.Expr]:
    """Return, for each text field, whether tidying changes its value (one column by key)."""
    return [pl.col(field.key).str.contains(UNTIDY) for field in TEXT_FIELDS]


def tidy(text: pl.Expr) -> pl.Expr:
    """Return ``Record._tidy``'s text: NUL as U+FFFD, whitespace runs one space, ends trimmed."""
    return (
        text.str.replace_all("\x00", "\ufffd", literal=True)
        .str.replace_all(WHITESPACE_RUN, " ")
        .str.strip_chars(" ")
    )


def decisions(latest_year: int, choices: Mapping[str, Sequence[str]]) -> list[pl.Expr]:
    """Return the expressions of one ``select`` over tidied text: ``OK``, then blank columns.

    ``choices`` holds, for each choice field's key, the chunk's values the model accepts
    (spelled as one of its enum's values, or blank): the vocabulary is decided once per
    distinct value, the membership here.
    """
    valid: list[pl.Expr] = []
    blanks: list[pl.Expr] = []
    for field in TEXT_FIELDS:
        ok, blank = _text(field)
        valid.append(ok)
        if blank is not None:
            blanks.append(blank.alias(blank_column(field.key)))
    for key, accepted in choices.items():
        value = pl.col(key)
        known = pl.Series(key, list(accepted), dtype=pl.String).implode()  # one set of values
        valid.append(value.is_null() | value.is_in(known))
    valid.append(pl.col(YEAR_KEY).is_between(YEAR_MIN, latest_year))
    price_ok, price_blank = _price()
    valid.append(price_ok)
    blanks.append(price_blank.alias(blank_column(PRICE_KEY)))
    return [pl.all_horizontal(valid).fill_null(value=False).alias(OK), *blanks]


def _text(field: TextField) -> tuple[pl.Expr, pl.Expr | None]:
    """Return a tidied text field's decision and, if optional, its blankness.

    A required text that tidies to nothing is left to the model (it keeps a text of only
    whitespace as given); an optional one is left out.
    """
    value = pl.col(field.key)
    chars = value.str.len_chars()
    bounded = chars.is_between(max(field.min_chars, 1), field.max_chars)
    if field.url:
        bounded = bounded & value.str.contains(URL_PATTERN)
    if field.required:
        return value.is_not_null() & bounded, None
    blank = chars == 0
    return value.is_null() | blank | bounded, blank


def _price() -> tuple[pl.Expr, pl.Expr]:
    """Return the price's decision and its blankness (a blank text is no price).

    The price arrives as its decimal text; plain notation with at most two decimals, within
    the business rule's bounds, is certainly valid.
    """
    text = pl.col(PRICE_KEY)
    blank = text.str.contains(BLANK)
    low, high = PRICE_BOUNDS
    amount = text.cast(pl.Float64, strict=False)
    plain = text.str.contains(PRICE_PATTERN) & amount.is_between(low, high)
    return text.is_null() | blank | plain, blank
