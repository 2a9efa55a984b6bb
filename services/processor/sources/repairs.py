"""Unambiguous value repairs (price, US state, make, case), each recorded as it is made.

A repair is ``{"field", "from", "to", "rule"}``; mappers collect them in a :class:`Repairs` list
that ends up in the row's ``enrichment["repairs"]``. No function here raises on bad input: a value
that cannot be repaired is returned unchanged and validation reports it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

from shared.records import choice_key, choice_spellings, storable

from .vocabulary import MAKE_ALIASES, MAKE_SPELLING, NO_PRICE_TEXTS, US_STATES

_PRICE_RE = re.compile(
    r"(?P<num>\d{1,3}(?:[,\s]\d{3})+(?:\.\d{1,2})?|\d+(?:\.\d+)?)\s*(?P<unit>[kKmM](?![a-zA-Z]))?"
)
# Pound, euro, yen and rupee signs, or a dollar sign with another country's prefix (not US$).
_FOREIGN_SYMBOL = re.compile(
    "[\u00a3\u20ac\u00a5\u20b9]|(?<![A-Za-z])(?:C|CA|A|AU|NZ|HK|S|MX|R)\\$"
)
_FOREIGN_CODE = re.compile(
    r"\b(?:EUR|GBP|CHF|JPY|CAD|AUD|NZD|MXN|SEK|NOK|DKK|HKD|SGD|ZAR|CNY|INR|BRL)\b", re.IGNORECASE
)
_SEED_PRICE = re.compile(r"\d+(?:\.\d{2})?")
"""A price as the seed's schema writes it ("45000", "45000.00"): read as it is, not a repair."""
_CENTS = Decimal("0.01")
_ROUNDABLE = Decimal(10) ** 15  # quantizing to cents stays within the default precision
_UNITS = {"k": Decimal(1_000), "m": Decimal(1_000_000)}


class Repairs(list[dict[str, Any]]):
    """The repairs made to one record, in order."""

    def add(self, field: str, before: Any, after: Any, rule: str) -> Any:
        """Record one repair and return the repaired value."""
        self.append({"field": field, "from": _plain(before), "to": _plain(after), "rule": rule})
        return after


def _plain(value: Any) -> Any:
    """Return a repair's value as JSON keeps it; NUL is U+FFFD (the row's jsonb cannot hold it)."""
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    if isinstance(value, str):
        return storable(value)
    return value


def parse_price(text: str) -> Decimal | None:
    """Return the amount in a price text ("$61,000", "Bid to $61,000", "61k"), or None."""
    match = _PRICE_RE.search(text)
    if match is None:
        return None
    digits = re.sub(r"[,\s]", "", match["num"])
    try:
        amount = Decimal(digits)
    except InvalidOperation:
        return None
    unit = (match["unit"] or "").lower()
    amount *= _UNITS.get(unit, Decimal(1))
    return amount.quantize(_CENTS)


def foreign_currency(text: str) -> str | None:
    """Return the currency a price text names if it is not US dollars ("\u00a3", "EUR", "C$").

    Prices are US dollars and are never converted (a rate is not an unambiguous repair): a
    price in another currency is refused with this reason rather than read as dollars.
    """
    match = _FOREIGN_SYMBOL.search(text) or _FOREIGN_CODE.search(text)
    return match.group(0).upper() if match else None


def repair_price(record: dict[str, Any], field: str, repairs: Repairs) -> None:
    """Turn a price string into a Decimal with two places; record the repair.

    A number with more than two decimals (45000.999, from a computation upstream) is rounded to
    the cent, half up, and recorded (``price_rounded``).
    """
    value = record.get(field)
    if not isinstance(value, str):
        if isinstance(value, float):
            amount = Decimal(str(value))
            exponent = amount.as_tuple().exponent
            if isinstance(exponent, int) and exponent < -2 and abs(amount) < _ROUNDABLE:
                cents = amount.quantize(_CENTS, rounding=ROUND_HALF_UP)
                record[field] = repairs.add(field, value, cents, "price_rounded")
            else:
                record[field] = amount  # NaN, infinities and huge values fail validation
        return
    if _SEED_PRICE.fullmatch(value):
        return  # the seed's own form: validation reads it, nothing was repaired
    if choice_key(value) in NO_PRICE_TEXTS:  # "Call for price", "POA": a listing with no price
        del record[field]
        repairs.add(field, value, None, "price_none")
        return
    parsed = parse_price(value)
    if parsed is not None:
        record[field] = repairs.add(field, value, parsed, "price_text")


def state_code(value: str) -> str | None:
    """Return the 2-letter code of a US state name or code, or None if unknown."""
    key = " ".join(value.replace(".", " ").split()).lower()
    if len(key) == 2 and key.upper() in US_STATES.values():
        return key.upper()
    return US_STATES.get(key)


def repair_state(record: dict[str, Any], field: str, repairs: Repairs) -> None:
    """Replace a US state name by its 2-letter code; record the repair."""
    value = record.get(field)
    if not isinstance(value, str) or not value.strip():
        return
    code = state_code(value)
    if code is not None and code != value:
        record[field] = repairs.add(field, value, code, "state_code")


def canonical_make(value: str) -> tuple[str, str] | None:
    """Return ``(make, rule)`` for a make text: an alias resolved or a known spelling, else None."""
    key = " ".join(value.replace("_", " ").split()).lower()
    if key in MAKE_ALIASES:
        return MAKE_ALIASES[key], "make_alias"
    if key in MAKE_SPELLING:
        return MAKE_SPELLING[key], "make_case"
    return None


def repair_make(record: dict[str, Any], repairs: Repairs) -> None:
    """Resolve make aliases (Chevy -> Chevrolet) and tidy its case; record the repair."""
    value = record.get("make")
    if not isinstance(value, str) or not value.strip():
        return
    known = canonical_make(value)
    if known is not None:
        make, rule = known
    else:
        tidy = " ".join(value.split())
        make, rule = (tidy.title(), "make_case") if tidy.islower() or tidy.isupper() else (tidy, "")
    if make != value:
        record["make"] = repairs.add("make", value, make, rule or "whitespace")


def repair_choice(
    record: dict[str, Any],
    field: str,
    aliases: Mapping[str, str | None],
    repairs: Repairs,
    choices: type[StrEnum] | None = None,
) -> None:
    """Write a choice as its enum spells it, or replace a known synonym; record the repair.

    "muscle cars" -> Muscle Cars (``choice_case``), "Muscle Car" -> Muscle Cars
    (``choice_alias``); a synonym of "none" ("Other", "Misc") leaves the optional field out
    (``choice_none``). A value neither knows is left to validation, which names the choices.
    """
    value = record.get(field)
    if not isinstance(value, str):
        return
    key = choice_key(value)
    if choices is not None and (spelled := choice_spellings(choices).get(key)) is not None:
        if spelled != value:
            record[field] = repairs.add(field, value, spelled, "choice_case")
        return
    if key not in aliases:
        return
    canonical = aliases[key]
    if canonical is None:
        del record[field]
        repairs.add(field, value, None, "choice_none")
    elif key != choice_key(canonical):
        record[field] = repairs.add(field, value, canonical, "choice_alias")


def tidy_model(value: str) -> str:
    """Collapse whitespace; title-case an all-lower model, and long words of an all-upper one."""
    tidy = " ".join(value.split())
    if tidy.islower():
        return " ".join(
            word if any(c.isdigit() for c in word) else word.title() for word in tidy.split()
        )
    if tidy.isupper():
        return " ".join(
            word.title() if len(word) > 3 and word.isalpha() else word for word in tidy.split()
        )
    return tidy


def repair_model(record: dict[str, Any], repairs: Repairs) -> None:
    """Tidy the model's whitespace and case; record the repair."""
    value = record.get("model")
    if isinstance(value, str) and value.strip():
        model = tidy_model(value)
        if model != value:
            rule = "whitespace" if model == " ".join(value.split()) else "model_case"
            record["model"] = repairs.add("model", value, model, rule)


def repair_whitespace(record: dict[str, Any], fields: tuple[str, ...], repairs: Repairs) -> None:
    """Collapse runs of whitespace in text fields; record the repair."""
    for field in fields:
        value = record.get(field)
        if isinstance(value, str):
            tidy = " ".join(value.split())
            if tidy != value and tidy:
                record[field] = repairs.add(field, value, tidy, "whitespace")
