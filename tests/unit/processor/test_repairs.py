"""Value repairs: prices, states, makes, case, titles and dates, each recorded."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from services.processor.sources.dates import parse_date, parse_range, repair_event_dates
from services.processor.sources.repairs import (
    Repairs,
    foreign_currency,
    parse_price,
    repair_choice,
    repair_make,
    repair_model,
    repair_price,
    repair_state,
    state_code,
)
from services.processor.sources.titles import fill_from_title, parse_title
from services.processor.sources.vocabulary import (
    ARTICLE_CATEGORY_ALIASES,
    CATEGORY_ALIASES,
    CONDITION_ALIASES,
    COUNTRY_ALIASES,
    EVENT_TYPE_ALIASES,
    REGION_ALIASES,
)
from services.processor.stages.normalize import Normalizer
from shared.events import RecordType
from shared.records import (
    ArticleCategory,
    EventType,
    VehicleCategory,
    VehicleCondition,
    VehicleRegion,
)


@pytest.mark.parametrize(
    ("text", "amount"),
    [
        ("$61,000", "61000.00"),
        ("61000", "61000.00"),
        ("Bid to $61,000", "61000.00"),
        ("61k", "61000.00"),
        ("$1.2M", "1200000.00"),
        ("USD 45,500.50", "45500.50"),
        ("Sold for $ 120 000", "120000.00"),
        ("price on request", None),
        ("", None),
    ],
)
def test_price_texts_become_amounts(text: str, amount: str | None) -> None:
    """Price strings in the usual shapes give the amount with two decimals, else None."""
    assert parse_price(text) == (Decimal(amount) if amount else None)


def test_price_repair_is_recorded() -> None:
    """A price string is replaced by its amount and the repair is listed."""
    record: dict[str, Any] = {"price": "$61,000"}
    repairs = Repairs()
    repair_price(record, "price", repairs)
    assert record["price"] == Decimal("61000.00")
    assert repairs == [
        {"field": "price", "from": "$61,000", "to": "61000.00", "rule": "price_text"}
    ]


def test_numeric_prices_are_left_alone() -> None:
    """A numeric price is not a repair."""
    record: dict[str, Any] = {"price": Decimal(45000)}
    repairs = Repairs()
    repair_price(record, "price", repairs)
    assert record["price"] == Decimal(45000)
    assert repairs == []


@pytest.mark.parametrize(
    ("text", "code"),
    [("California", "CA"), ("new  york", "NY"), ("ca", "CA"), ("TX", "TX"), ("Narnia", None)],
)
def test_state_names_map_to_codes(text: str, code: str | None) -> None:
    """US state names and codes give the 2-letter code; unknown names give None."""
    assert state_code(text) == code


def test_state_repair_is_recorded_and_unknown_states_are_kept() -> None:
    """A state name becomes its code with a repair; an unknown state stays as it is."""
    record: dict[str, Any] = {"s": "California", "t": "Ontario"}
    repairs = Repairs()
    repair_state(record, "s", repairs)
    repair_state(record, "t", repairs)
    assert (record["s"], record["t"]) == ("CA", "Ontario")
    assert [r["rule"] for r in repairs] == ["state_code"]


@pytest.mark.parametrize(
    ("make", "expected", "rule"),
    [
        ("Chevy", "Chevrolet", "make_alias"),
        ("Mercedes", "Mercedes-Benz", "make_alias"),
        ("Benz", "Mercedes-Benz", "make_alias"),
        ("VW", "Volkswagen", "make_alias"),
        ("FORD", "Ford", "make_case"),
        ("bmw", "BMW", "make_case"),
        ("  studebaker ", "Studebaker", "make_case"),
        ("ACME MOTORS", "Acme Motors", "make_case"),
    ],
)
def test_makes_are_canonicalized(make: str, expected: str, rule: str) -> None:
    """Make aliases resolve and case is tidied, with the rule recorded."""
    record: dict[str, Any] = {"make": make}
    repairs = Repairs()
    repair_make(record, repairs)
    assert record["make"] == expected
    assert repairs[0]["rule"] == rule


@pytest.mark.parametrize(
    ("model", "expected"),
    [
        ("mustang  fastback", "Mustang Fastback"),
        ("CHEVELLE SS", "Chevelle SS"),
        ("911 Carrera RS", "911 Carrera RS"),
        ("e-type 4.2", "E-Type 4.2"),
    ],
)
def test_models_keep_sensible_case(model: str, expected: str) -> None:
    """All-lower models are title-cased; short upper words (SS, RS) and mixed case are kept."""
    record: dict[str, Any] = {"model": model}
    repair_model(record, Repairs())
    assert record["model"] == expected


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        (
            "1967 Ford Mustang Fastback 4-Speed",
            {"year": 1967, "make": "Ford", "model": "Mustang Fastback 4-Speed"},
        ),
        (
            "No Reserve: 21k-Mile 1995 Chevy Camaro Z28",
            {"year": 1995, "make": "Chevrolet", "model": "Camaro Z28"},
        ),
        (
            "1963 Mercedes Benz 230SL for sale",
            {"year": 1963, "make": "Mercedes-Benz", "model": "230SL"},
        ),
        ("Alfa Romeo Spider Veloce", {"make": "Alfa Romeo", "model": "Spider Veloce"}),
        ("A nice car", {}),
    ],
)
def test_titles_give_year_make_model(title: str, expected: dict[str, Any]) -> None:
    """A listing title yields year, make and model when it has them."""
    assert parse_title(title) == expected


def test_title_fills_only_missing_fields() -> None:
    """Fields already present are kept; the filled ones are recorded as title_parse repairs."""
    record: dict[str, Any] = {"title": "1967 Ford Mustang Fastback", "model": "Mustang"}
    repairs = Repairs()
    fill_from_title(record, "title", repairs)
    assert (record["year"], record["make"], record["model"]) == (1967, "Ford", "Mustang")
    assert {r["field"] for r in repairs} == {"year", "make"}


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        ("June 12-14, 2026", date(2026, 6, 12), date(2026, 6, 14)),
        ("Oct 7-10, 2026", date(2026, 10, 7), date(2026, 10, 10)),
        ("March 5\u20138, 2026", date(2026, 3, 5), date(2026, 3, 8)),
        ("Aug 30 - Sep 2, 2026", date(2026, 8, 30), date(2026, 9, 2)),
        ("Dec 30 - Jan 2, 2026", date(2026, 12, 30), date(2027, 1, 2)),
    ],
)
def test_event_date_ranges(text: str, start: date, end: date) -> None:
    """Date ranges give start and end dates."""
    assert parse_range(text) == (start, end)


def test_event_range_repair_sets_both_dates() -> None:
    """A range in startDate becomes ISO startDate and endDate, recorded as date_range."""
    record: dict[str, Any] = {"startDate": "June 12-14, 2026"}
    repairs = Repairs()
    repair_event_dates(record, repairs)
    assert (record["startDate"], record["endDate"]) == ("2026-06-12", "2026-06-14")
    assert {r["rule"] for r in repairs} == {"date_range"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-09-01", date(2026, 9, 1)),
        ("2026-09-01T23:30:00-05:00", date(2026, 9, 2)),
        ("Tue, 01 Sep 2026 10:00:00 GMT", date(2026, 9, 1)),
        ("Sep 1, 2026", date(2026, 9, 1)),
        ("not a date", None),
        (None, None),
    ],
)
def test_article_dates(text: str | None, expected: date | None) -> None:
    """ISO, HTTP and prose dates parse to a UTC date; anything else gives None."""
    assert parse_date(text) == expected


@pytest.mark.parametrize(
    ("field", "aliases", "given", "expected"),
    [
        ("category", CATEGORY_ALIASES, "Muscle Car", "Muscle Cars"),
        ("category", CATEGORY_ALIASES, "Pre-War", "Classic Cars"),
        ("category", CATEGORY_ALIASES, "Pickup Truck", "Trucks"),
        ("category", CATEGORY_ALIASES, "exotic", "Sports Cars"),
        ("category", CATEGORY_ALIASES, "Resto-Mod", "Restomods"),
        ("condition", CONDITION_ALIASES, "Excellent Condition", "Excellent"),
        ("condition", CONDITION_ALIASES, "Project car", "Project"),
        ("condition", CONDITION_ALIASES, "Concours", "Excellent"),
        ("locationRegion", REGION_ALIASES, "New England", "Northeast"),
        ("locationRegion", REGION_ALIASES, "Pacific Northwest", "West"),
        ("eventType", EVENT_TYPE_ALIASES, "Car Show", "show"),
        ("eventType", EVENT_TYPE_ALIASES, "Concours d\u2019Elegance", "concours"),
        ("eventType", EVENT_TYPE_ALIASES, "Cars & Coffee", "meet"),
        ("eventType", EVENT_TYPE_ALIASES, "Cruise-In", "cruise"),
        ("category", ARTICLE_CATEGORY_ALIASES, "Buyer's Guide", "buyers_guide"),
        ("country", COUNTRY_ALIASES, "U.S.A.", "US"),
        ("country", COUNTRY_ALIASES, "United States", "US"),
    ],
)
def test_synonyms_of_choices_are_repaired_and_recorded(
    field: str, aliases: dict[str, str], given: str, expected: str
) -> None:
    """What pages write for a category, condition or event type becomes the enum's value."""
    record, repairs = {field: given}, Repairs()
    repair_choice(record, field, aliases, repairs)
    assert record[field] == expected
    assert repairs == [{"field": field, "from": given, "to": expected, "rule": "choice_alias"}]


@pytest.mark.parametrize("given", ["Vintage", "Mint", "Southwest", 3, None])
def test_ambiguous_words_are_left_alone(given: Any) -> None:
    """Ambiguous words are not guessed: they fail validation with the enum's values."""
    record, repairs = {"category": given, "condition": given, "locationRegion": given}, Repairs()
    repair_choice(record, "category", CATEGORY_ALIASES, repairs, VehicleCategory)
    repair_choice(record, "condition", CONDITION_ALIASES, repairs, VehicleCondition)
    repair_choice(record, "locationRegion", REGION_ALIASES, repairs, VehicleRegion)
    assert record == {"category": given, "condition": given, "locationRegion": given}
    assert repairs == []


def test_the_seeds_own_spelling_is_not_a_repair() -> None:
    """A value written as the seed spells it is kept as it is and counts as no repair."""
    record = {"category": "Muscle Cars", "condition": "Very Good", "locationRegion": "Midwest"}
    repairs = Repairs()
    repair_choice(record, "category", CATEGORY_ALIASES, repairs, VehicleCategory)
    repair_choice(record, "condition", CONDITION_ALIASES, repairs, VehicleCondition)
    repair_choice(record, "locationRegion", REGION_ALIASES, repairs, VehicleRegion)
    assert record == {
        "category": "Muscle Cars",
        "condition": "Very Good",
        "locationRegion": "Midwest",
    }
    assert repairs == []


@pytest.mark.parametrize(
    ("given", "expected"),
    [("muscle cars", "Muscle Cars"), ("HOT_RODS", "Hot Rods"), ("very-good", "Very Good")],
)
def test_another_case_or_spacing_is_written_as_the_seed_spells_it(
    given: str, expected: str
) -> None:
    """Case and spacing are repaired to the seed's spelling, and recorded as ``choice_case``."""
    field = "condition" if expected == "Very Good" else "category"
    enum = VehicleCondition if field == "condition" else VehicleCategory
    record, repairs = {field: given}, Repairs()
    repair_choice(record, field, {}, repairs, enum)
    assert record == {field: expected}
    assert repairs == [{"field": field, "from": given, "to": expected, "rule": "choice_case"}]


def test_other_means_no_category() -> None:
    """'Other' says the listing has no category of the seed's: the optional field is left out."""
    record, repairs = {"category": "Other"}, Repairs()
    repair_choice(record, "category", CATEGORY_ALIASES, repairs, VehicleCategory)
    assert record == {}
    assert repairs == [{"field": "category", "from": "Other", "to": None, "rule": "choice_none"}]


@pytest.mark.parametrize(
    ("aliases", "enum"),
    [
        (CATEGORY_ALIASES, VehicleCategory),
        (CONDITION_ALIASES, VehicleCondition),
        (REGION_ALIASES, VehicleRegion),
        (EVENT_TYPE_ALIASES, EventType),
        (ARTICLE_CATEGORY_ALIASES, ArticleCategory),
    ],
)
def test_every_alias_names_a_value_of_its_enum(aliases: dict[str, str], enum: type[Any]) -> None:
    """The tables are data: a typo in one would fail records instead of repairing them."""
    assert set(aliases.values()) - {None} <= {member.value for member in enum}


@pytest.mark.parametrize(
    ("text", "currency"),
    [
        ("\u00a345,000", "\u00a3"),
        ("45 000 \u20ac", "\u20ac"),
        ("EUR 45.000", "EUR"),
        ("45,000 gbp", "GBP"),
        ("\u00a55,000,000", "\u00a5"),
        ("C$60,000", "C$"),
        ("AU$70,000", "AU$"),
        ("$45,000 (CAD)", "CAD"),
        ("$45,000", None),
        ("US$45,000", None),
        ("45000 USD", None),
        ("Bid to $61,000", None),
        ("Euro Spec 911, $80,000", None),
    ],
)
def test_prices_in_other_currencies_are_recognised(text: str, currency: str | None) -> None:
    """A price text naming another currency than US dollars says which; dollars say nothing."""
    assert foreign_currency(text) == currency


def test_a_price_with_fractions_of_a_cent_is_rounded_and_recorded() -> None:
    """45000.999 from a computation upstream becomes 45001.00, half up; plain numbers stay."""
    record: dict[str, Any] = {"price": 45000.999}
    repairs = Repairs()
    repair_price(record, "price", repairs)
    assert record["price"] == Decimal("45001.00")
    assert repairs == [
        {"field": "price", "from": 45000.999, "to": "45001.00", "rule": "price_rounded"}
    ]
    for plain in (45000.5, 45000):
        untouched: dict[str, Any] = {"price": plain}
        repair_price(untouched, "price", repairs)
        assert untouched["price"] == Decimal(str(plain))
    assert len(repairs) == 1


@pytest.mark.parametrize(
    ("record_type", "city_field", "state_field"),
    [(RecordType.VEHICLES, "locationCity", "locationState"), (RecordType.EVENTS, "city", "state")],
)
def test_a_city_field_holding_city_and_state_is_split(
    record_type: RecordType, city_field: str, state_field: str
) -> None:
    """A city field holding "Austin, Texas 78701" gives city Austin and state TX, recorded."""
    base = (
        {"make": "Ford", "model": "Mustang", "year": 1967, "price": 30000}
        if record_type is RecordType.VEHICLES
        else {"name": "Spring Show", "eventType": "show", "startDate": "2026-05-02"}
    )
    mapped = Normalizer("drop", "drop", record_type)({**base, city_field: "Austin, Texas 78701"})
    assert (mapped.record[city_field], mapped.record[state_field]) == ("Austin", "TX")
    assert [r["rule"] for r in mapped.repairs] == ["location_split", "location_split", "state_code"]


@pytest.mark.parametrize("text", ["45000", "45000.00", "999.99", "10000000.01"])
def test_a_price_in_the_seeds_form_is_not_a_repair(text: str) -> None:
    """``"45000.00"`` is how the seed writes a price: validation reads it, nothing is counted."""
    record: dict[str, Any] = {"price": text}
    repairs = Repairs()
    repair_price(record, "price", repairs)
    assert record == {"price": text}
    assert repairs == []


@pytest.mark.parametrize("text", ["Call for price", "POA", "TBD", "N/A", "Contact seller"])
def test_a_price_text_that_says_there_is_none_leaves_the_price_out(text: str) -> None:
    """ "Call for price" is a listing without a price (valid), not a price that fails."""
    record: dict[str, Any] = {"price": text, "make": "Ford"}
    repairs = Repairs()
    repair_price(record, "price", repairs)
    assert record == {"make": "Ford"}
    assert repairs == [{"field": "price", "from": text, "to": None, "rule": "price_none"}]
