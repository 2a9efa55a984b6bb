"""Investment grades for vehicles: the rules are data, evaluated in order, first match wins.

A rule is a dict with a ``name``, a ``grade`` and optional conditions; every condition given must
hold. The last rule must have no conditions, so every vehicle gets a grade. Rules can be replaced
with a JSON file (``PROCESSOR_GRADING_RULES_FILE``) holding a list of such dicts.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationInfo, field_validator

from shared.records import (
    Vehicle,
    VehicleCategory,
    VehicleCondition,
    choice_key,
    choice_spellings,
)

DEFAULT_RULES: tuple[dict[str, Any], ...] = (
    {"name": "sports_icon", "grade": "A+", "names": ["Corvette", "Porsche", "Ferrari", "Jaguar"]},
    {
        "name": "muscle_icon",
        "grade": "A",
        "names": ["Chevelle", "GTO", "Challenger", "Camaro", "Mustang"],
    },
    {"name": "golden_era_1950_1970", "grade": "A-", "year_from": 1950, "year_to": 1970},
    {"name": "collectible", "grade": "B+"},
)
"""The seed's investment grades: sports icons A+, muscle icons A, 1950-1970 A-, else B+.

A name matches when it appears in "make model", in any case (the seed's ``includes``).
"""


class GradeRule(BaseModel):
    """One grading rule: a grade and the conditions a vehicle must meet to get it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1, max_length=100)
    grade: str = Field(min_length=1, max_length=10)
    names: tuple[str, ...] | None = None
    year_before: int | None = None
    year_from: int | None = None
    year_to: int | None = None
    price_at_least: Decimal | None = None
    price_below: Decimal | None = None
    categories: frozenset[str] | None = None
    conditions: frozenset[str] | None = None

    @field_validator("categories", "conditions", mode="before")
    @classmethod
    def _seed_spelling(cls, values: Any, info: ValidationInfo) -> Any:
        """Write each category or condition as the records store it; refuse unknown ones."""
        if values is None or isinstance(values, str):
            return values
        enum = VehicleCategory if info.field_name == "categories" else VehicleCondition
        spellings = choice_spellings(enum)
        unknown = [v for v in values if choice_key(str(v)) not in spellings]
        if unknown:
            choices = ", ".join(repr(member.value) for member in enum)
            msg = f"unknown {info.field_name} {unknown}: use {choices}"
            raise ValueError(msg)
        return frozenset(spellings[choice_key(str(v))] for v in values)

    def matches(self, vehicle: Vehicle) -> bool:
        """Return True when the vehicle meets every condition of this rule.

        A price condition never holds for a vehicle without a price: unknown is not zero.
        """
        price = vehicle.price
        checks = (
            self.names is None or _named(vehicle, self.names),
            self.year_before is None or vehicle.year < self.year_before,
            self.year_from is None or vehicle.year >= self.year_from,
            self.year_to is None or vehicle.year <= self.year_to,
            self.price_at_least is None or (price is not None and price >= self.price_at_least),
            self.price_below is None or (price is not None and price < self.price_below),
            self.categories is None or _value(vehicle.category) in self.categories,
            self.conditions is None or _value(vehicle.condition) in self.conditions,
        )
        return all(checks)

    def is_catch_all(self) -> bool:
        """Return True when the rule has no condition (it matches every vehicle)."""
        return not self.model_dump(exclude={"name", "grade"}, exclude_none=True)


_RULES_ADAPTER = TypeAdapter(tuple[GradeRule, ...])


def _named(vehicle: Vehicle, names: tuple[str, ...]) -> bool:
    text = f"{vehicle.make} {vehicle.model}".casefold()
    return any(name.casefold() in text for name in names)


def _value(member: Any) -> str | None:
    return None if member is None else str(member.value)


def load_rules(rules: Iterable[Mapping[str, Any]]) -> tuple[GradeRule, ...]:
    """Validate rule dicts into rules.

    Raises:
        ValueError: a rule is malformed, the list is empty, or the last rule has conditions.
    """
    parsed = _RULES_ADAPTER.validate_python(tuple(rules))
    if not parsed or not parsed[-1].is_catch_all():
        msg = "grading rules must end with a rule without conditions (the default grade)"
        raise ValueError(msg)
    return parsed


def load_rules_file(path: Path) -> tuple[GradeRule, ...]:
    """Read and validate grading rules from a JSON file holding a list of rule dicts."""
    return load_rules(orjson.loads(path.read_bytes()))


def grade(vehicle: Vehicle, rules: Iterable[GradeRule]) -> tuple[str, str]:
    """Return ``(grade, rule name)`` of the first rule the vehicle matches."""
    for rule in rules:
        if rule.matches(vehicle):
            return rule.grade, rule.name
    msg = "no grading rule matched; the rules must end with a catch-all"
    raise ValueError(msg)


DEFAULT_GRADE_RULES = load_rules(DEFAULT_RULES)
