"""The vehicle rules as Polars expressions over a chunk's columns: one pass decides every record.

Each field gives an expression that is true where its value is certainly valid (or absent and
optional), and the columns the stored values need: a text's tidied form where tidying changes
it, and where an optional value is blank (the model leaves it out). A null in a decision (a
missing required value) is a refusal.
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


def tidied_column(key: str) -> str:
    """Return the name of a text's tidied column (null where tidying leaves the text as is)."""
    return f"tidied:{key}"


def blank_column(key: str) -> str:
    """Return the name of the column true where an optional value is blank (left out)."""
    return f"blank:{key}"


def decisions(latest_year: int, choices: Mapping[str, Sequence[str]]) -> list[pl.Expr]:
    """Return the expressions of one ``select``: ``OK``, then the tidied and blank columns.

    ``choices`` holds, for each choice field's key, the chunk's values the model accepts
    (spelled as one of its enum's values, or blank): the vocabulary is decided once per
    distinct value, the membership here.
    """
    valid: list[pl.Expr] = []
    extra: list[pl.Expr] = []
    for field in TEXT_FIELDS:
        ok, tidied, blank = _text(field)
        valid.append(ok)
        extra.append(tidied.alias(tidied_column(field.key)))
        if blank is not None:
            extra.append(blank.alias(blank_column(field.key)))
    for key, accepted in choices.items():
        value = pl.col(key)
        known = pl.Series(key, list(accepted), dtype=pl.String).implode()  # one set of values
        valid.append(value.is_null() | value.is_in(known))
    valid.append(pl.col(YEAR_KEY).is_between(YEAR_MIN, latest_year))
    price_ok, price_blank = _price()
    valid.append(price_ok)
    extra.append(price_blank.alias(blank_column(PRICE_KEY)))
    return [pl.all_horizontal(valid).fill_null(value=False).alias(OK), *extra]


def _text(field: TextField) -> tuple[pl.Expr, pl.Expr, pl.Expr | None]:
    """Return a text field's decision, its tidied value where it changes, and its blankness.

    Tidying is ``Record._tidy``'s: NUL becomes U+FFFD, runs of whitespace one space, and the
    ends are trimmed. A required text that tidies to nothing is left to the model (it keeps
    a text of only whitespace as given).
    """
    value = pl.col(field.key)
    untidy = value.str.contains(UNTIDY)
    tidy = (
        value.str.replace_all("\x00", "\ufffd", literal=True)
        .str.replace_all(WHITESPACE_RUN, " ")
        .str.strip_chars(" ")
    )
    clean = pl.when(untidy).then(tidy).otherwise(value)
    chars = clean.str.len_chars()
    bounded = chars.is_between(max(field.min_chars, 1), field.max_chars)
    if field.url:
        bounded = bounded & clean.str.contains(URL_PATTERN)
    if field.required:
        return value.is_not_null() & bounded, pl.when(untidy).then(tidy), None
    blank = chars == 0
    return value.is_null() | blank | bounded, pl.when(untidy).then(tidy), blank


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
