"""The seed's vehicle contract, case by case, through the processor's reading and the model.

Each case of ``cases.CASES`` is mapped as a dropped file's record is (``Normalizer``), repaired and
validated; an accepted one is compared column by column with what the table says is stored, a
refused one by its reason. ``test_drop`` runs the same cases through the running services.
"""

from __future__ import annotations

import hashlib
from decimal import Decimal
from typing import Any

import pytest

from services.processor.stages import check
from services.processor.stages.normalize import Normalizer
from shared.events import RecordType
from shared.records import Vehicle

from .cases import ACCEPTED, CASES, FILE_SOURCE, REFUSED, Case
from .seed import seed_verdict

SOURCE = "conformance-drop"
IDS = [case.name for case in CASES]


def read(case: Case, index: int) -> tuple[dict[str, Any] | None, list[str], list[str]]:
    """Return the row the processor makes of a case (None if refused), its reasons and repairs."""
    mapped = Normalizer("drop", SOURCE, RecordType.VEHICLES)(case.record(index))
    outcome = check.validate(mapped.record, Vehicle)
    errors = check.with_source_errors(mapped.errors, outcome)
    reasons = sorted({check.reason_key(error) for error in errors})
    repairs = [repair["rule"] for repair in mapped.repairs]
    if errors or not isinstance(outcome, Vehicle):
        return None, reasons, repairs
    return outcome.to_row(), reasons, repairs


def same_value(stored: Any, expected: Any) -> bool:
    """Compare a stored column with the table's value (prices as amounts)."""
    if isinstance(expected, Decimal):
        return stored is not None and Decimal(str(stored)) == expected
    return bool(stored == expected)


def test_the_table_has_a_case_for_every_outcome_and_never_narrows_the_seed() -> None:
    """Every case the seed accepts, the product accepts; every extension says why."""
    assert len({case.name for case in CASES}) == len(CASES)
    narrowed = [c.name for c in CASES if c.seed == ACCEPTED and c.product == REFUSED]
    assert narrowed == []
    unexplained = [
        c.name for c in CASES if c.seed == REFUSED and c.product == ACCEPTED and not c.why
    ]
    assert unexplained == []
    assert {c.seed for c in CASES} == {c.product for c in CASES} == {ACCEPTED, REFUSED}


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_the_seed_column_is_what_the_seed_does(case: Case) -> None:
    """The table's seed outcome is the seed's schema and business rules, transcribed."""
    accepted, _ = seed_verdict(case.record(0))
    assert (ACCEPTED if accepted else REFUSED) == case.seed


@pytest.mark.parametrize(("index", "case"), list(enumerate(CASES)), ids=IDS)
def test_the_processor_does_what_the_table_says(index: int, case: Case) -> None:
    """Accepted cases become the row the table gives; refused ones fail with its reason."""
    row, reasons, repairs = read(case, index)
    if case.reason is not None:
        assert row is None
        assert reasons == [case.reason]
        return
    assert row is not None, reasons
    for column, expected in case.expected_columns(index).items():
        if expected == FILE_SOURCE:
            expected = SOURCE
        assert same_value(row[column], expected), (column, row[column], expected)
    if case.repair is not None:
        assert case.repair in repairs


def seed_hash(row: dict[str, Any]) -> str:
    """Return the seed's ``generateVehicleHash`` of a stored row, as its TypeScript computes it."""
    parts = [row["make"], row["model"], row["year"], row["stock_number"] or "", row["source_name"]]
    return hashlib.sha256("|".join(str(part) for part in parts).lower().encode()).hexdigest()


@pytest.mark.parametrize(("index", "case"), list(enumerate(CASES)), ids=IDS)
def test_the_natural_key_is_the_seeds_hash(index: int, case: Case) -> None:
    """``data_hash`` is the seed's SHA-256 of make|model|year|stockNumber|sourceName.

    The product's key also ignores runs of spaces ("Chevelle  SS" is "Chevelle SS"), so a part
    of only spaces counts as empty: there the seed's key would differ, and the product's holds.
    """
    row, _, _ = read(case, index)
    if row is None:
        return
    parts = [str(row[key] or "") for key in ("make", "model", "stock_number", "source_name")]
    if all(part == " ".join(part.split()) for part in parts):
        assert row["data_hash"] == seed_hash(row)
    else:
        tidy = {k: " ".join(v.split()) if isinstance(v, str) else v for k, v in row.items()}
        assert row["data_hash"] == seed_hash(tidy)
