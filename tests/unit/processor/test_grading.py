"""Investment grades: rules are data, evaluated in order, and the first match wins."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
import pytest
from pydantic import ValidationError

from services.processor.grading import DEFAULT_GRADE_RULES, grade, load_rules, load_rules_file
from shared.records import Vehicle

from .conftest import vehicle


def _vehicle(**overrides: Any) -> Vehicle:
    return Vehicle.model_validate(vehicle(**overrides))


@pytest.mark.parametrize(
    ("make", "model", "year", "expected"),
    [
        ("Chevrolet", "Corvette Stingray", 1990, ("A+", "sports_icon")),
        ("Porsche", "911 Carrera", 1985, ("A+", "sports_icon")),
        ("Ferrari", "308 GTS", 1980, ("A+", "sports_icon")),
        ("Jaguar", "E-Type", 1963, ("A+", "sports_icon")),
        ("Chevrolet", "Chevelle SS", 1970, ("A", "muscle_icon")),
        ("Pontiac", "GTO Judge", 1969, ("A", "muscle_icon")),
        ("Dodge", "Challenger T/A", 1970, ("A", "muscle_icon")),
        ("Chevrolet", "Camaro Z/28", 1975, ("A", "muscle_icon")),
        ("Ford", "Mustang Fastback", 1967, ("A", "muscle_icon")),
        ("Ford", "mustang", 1990, ("A", "muscle_icon")),
        ("Chevrolet", "Bel Air", 1950, ("A-", "golden_era_1950_1970")),
        ("Chevrolet", "Bel Air", 1970, ("A-", "golden_era_1950_1970")),
        ("Chevrolet", "Bel Air", 1949, ("B+", "collectible")),
        ("Chevrolet", "C10", 1971, ("B+", "collectible")),
    ],
)
def test_default_rules_are_the_seeds(
    make: str, model: str, year: int, expected: tuple[str, str]
) -> None:
    """The seed's grades: sports icons A+, muscle icons A, 1950 to 1970 A-, every other B+."""
    assert grade(_vehicle(make=make, model=model, year=year), DEFAULT_GRADE_RULES) == expected


def test_a_vehicle_without_a_price_is_graded_and_price_rules_do_not_hold() -> None:
    """A missing price is unknown, not zero: no price condition holds, the rest still grade."""
    rules = load_rules(
        [
            {"name": "cheap", "grade": "C", "price_below": 10_000},
            {"name": "dear", "grade": "A", "price_at_least": 100_000},
            {"name": "rest", "grade": "B"},
        ]
    )
    no_price = _vehicle(price=None)
    assert no_price.price is None
    assert grade(no_price, rules) == ("B", "rest")
    assert grade(no_price, DEFAULT_GRADE_RULES) == ("A", "muscle_icon")


def test_first_matching_rule_wins_and_conditions_combine() -> None:
    """Rules are tried in order; category and condition lists narrow a rule."""
    rules = load_rules(
        [
            {"name": "project", "grade": "D", "conditions": ["Project"]},
            {
                "name": "sports",
                "grade": "A",
                "categories": ["Sports Cars"],
                "price_below": 1_000_000,
            },
            {"name": "rest", "grade": "C"},
        ]
    )
    sports = "Sports Cars"
    assert grade(_vehicle(condition="Project", category=sports), rules) == ("D", "project")
    assert grade(_vehicle(category=sports, price=Decimal(20_000)), rules) == ("A", "sports")
    assert grade(_vehicle(category=sports, price=2_000_000), rules) == ("C", "rest")
    assert grade(_vehicle(), rules) == ("C", "rest")


def test_rule_categories_are_read_as_the_records_spell_them() -> None:
    """A rules file may write a category in any case; an unknown one is refused with the list."""
    rules = load_rules(
        [{"name": "m", "grade": "A", "categories": ["muscle cars"]}, {"name": "r", "grade": "C"}]
    )
    assert rules[0].categories == frozenset({"Muscle Cars"})
    with pytest.raises(ValidationError, match=r"unknown categories.*'Muscle Cars'"):
        load_rules(
            [{"name": "x", "grade": "A", "categories": ["exotic"]}, {"name": "r", "grade": "C"}]
        )


def test_rules_must_end_with_a_catch_all() -> None:
    """A rule list whose last rule has conditions (or an empty list) is refused."""
    with pytest.raises(ValueError, match="must end with a rule without conditions"):
        load_rules([{"name": "old", "grade": "B", "year_before": 1990}])
    with pytest.raises(ValueError, match="must end"):
        load_rules([])


def test_unknown_rule_keys_are_refused() -> None:
    """A misspelled condition is an error, not a silently ignored rule."""
    with pytest.raises(ValidationError, match="year_befor"):
        load_rules([{"name": "x", "grade": "B", "year_befor": 1990}, {"name": "y", "grade": "C"}])


def test_rules_load_from_a_json_file(tmp_path: Path) -> None:
    """Rules can be replaced by a JSON file holding a list of rule dicts."""
    path = tmp_path / "rules.json"
    path.write_bytes(orjson.dumps([{"name": "all", "grade": "Z"}]))
    assert grade(_vehicle(), load_rules_file(path)) == ("Z", "all")
