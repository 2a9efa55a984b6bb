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
    ("year", "price", "expected"),
    [
        (1965, 250_000, ("A+", "blue_chip_pre_1970")),
        (1969, 100_000, ("A+", "blue_chip_pre_1970")),
        (1969, 99_999, ("A", "collectible_pre_1975")),
        (1970, 150_000, ("A", "collectible_pre_1975")),
        (1974, 50_000, ("A", "collectible_pre_1975")),
        (1974, 49_999, ("B", "classic_pre_1990")),
        (1989, 5_000, ("B", "classic_pre_1990")),
        (1990, 900_000, ("C", "modern_or_entry")),
    ],
)
def test_default_rules(year: int, price: int, expected: tuple[str, str]) -> None:
    """The default rules grade by age and price, with the boundaries where they are documented."""
    assert grade(_vehicle(year=year, price=price), DEFAULT_GRADE_RULES) == expected


def test_first_matching_rule_wins_and_conditions_combine() -> None:
    """Rules are tried in order; category and condition lists narrow a rule."""
    rules = load_rules(
        [
            {"name": "project", "grade": "D", "conditions": ["project"]},
            {"name": "exotic", "grade": "A", "categories": ["exotic"], "price_below": 1_000_000},
            {"name": "rest", "grade": "C"},
        ]
    )
    assert grade(_vehicle(condition="Project", category="exotic"), rules) == ("D", "project")
    assert grade(_vehicle(category="exotic", price=Decimal(20_000)), rules) == ("A", "exotic")
    assert grade(_vehicle(category="exotic", price=2_000_000), rules) == ("C", "rest")
    assert grade(_vehicle(), rules) == ("C", "rest")


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
