"""The seed's vehicle contract as a table of cases: what the seed does, what the product does.

Each case changes one thing in ``BASE``, a listing written exactly to the seed's
``vehicleSchema``. ``seed`` is the seed's own outcome (checked against ``seed.seed_verdict``).
The product's outcome is ``stored`` (accepted: the columns as PostgreSQL holds them) or
``reason`` (refused: the reason key of ``pipeline report`` and the failed file). Where the product
goes further than the seed, ``why`` says what it does instead and why; the product never refuses
what the seed accepts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

ACCEPTED, REFUSED = "accepted", "refused"
REMOVE = object()  # as a change: the key is left out of the record
FILE_SOURCE = "<the file's source>"  # as a stored value: the source the file came from
NEXT_YEARS = datetime.now(UTC).year + 2

BASE: dict[str, Any] = {
    "make": "Chevrolet",
    "model": "Chevelle SS",
    "year": 1970,
    "price": "45000.00",
    "description": "Numbers-matching 454, fresh paint, documented.",
    "imageUrl": "https://img.example.com/chevelle/1.jpg",
    "locationCity": "Tulsa",
    "locationState": "OK",
    "locationRegion": "South",
    "category": "Muscle Cars",
    "condition": "Excellent",
    "sourceName": "conformance",
    "sourceUrl": "https://dealer.example.com/listings/1",
    "stockNumber": "CF",
}
"""A listing as the seed's schema writes it; ``stockNumber`` is made unique per case."""

COLUMNS = {
    "make": "make", "model": "model", "year": "year", "price": "price",
    "description": "description", "imageUrl": "image_url", "locationCity": "location_city",
    "locationState": "location_state", "locationRegion": "location_region",
    "category": "category", "condition": "condition", "sourceName": "source_name",
    "sourceUrl": "source_url", "stockNumber": "stock_number",
}  # fmt: skip
"""The seed's field and the column that stores it."""


@dataclass(frozen=True)
class Case:
    """One row of the table."""

    name: str
    changes: dict[str, Any]
    seed: str
    stored: dict[str, Any] | None = None  # accepted: columns whose value differs from the input
    reason: str | None = None  # refused: the product's reason key
    why: str = ""  # where the product does more than the seed: what and why
    repair: str | None = None  # the repair rule the product records, if any

    @property
    def product(self) -> str:
        """Return the product's outcome."""
        return REFUSED if self.reason else ACCEPTED

    def record(self, index: int) -> dict[str, Any]:
        """Return the case's record; its stock number is unique unless the case sets one."""
        record = {**BASE, "stockNumber": f"CF-{index:03d}"}
        for key, value in self.changes.items():
            if value is REMOVE:
                record.pop(key, None)
            else:
                record[key] = value
        return record

    def expected_columns(self, index: int) -> dict[str, Any]:
        """Return every column the accepted record must have in PostgreSQL."""
        record = self.record(index)
        columns: dict[str, Any] = {column: record.get(key) for key, column in COLUMNS.items()}
        stored = self.stored or {}
        if record.get("price") is not None and "price" not in stored:
            columns["price"] = Decimal(str(record["price"])).quantize(Decimal("0.01"))
        columns.update(stored)
        return columns


def _accepted(name: str, changes: dict[str, Any], **kwargs: Any) -> Case:
    return Case(name, changes, ACCEPTED, **kwargs)


def _refused(name: str, changes: dict[str, Any], reason: str) -> Case:
    return Case(name, changes, REFUSED, reason=reason)


def _further(name: str, changes: dict[str, Any], why: str, **kwargs: Any) -> Case:
    """A case the seed refuses and the product accepts (and may repair)."""
    return Case(name, changes, REFUSED, why=why, **kwargs)


def _length_cases(key: str, limit: int, *, required: bool) -> list[Case]:
    at_limit = "Mx" + "x" * (limit - 2)
    cases = [
        _accepted(f"{key} at {limit} characters", {key: at_limit}),
        _refused(
            f"{key} at {limit + 1} characters",
            {key: at_limit + "x"},
            f"schema:{key}:string_too_long",
        ),
    ]
    if required:
        cases += [
            _refused(f"{key} missing", {key: REMOVE}, f"schema:{key}:missing"),
            _refused(f"{key} empty", {key: ""}, f"schema:{key}:string_too_short"),
        ]
    else:
        cases.append(_accepted(f"{key} missing", {key: REMOVE}))
    return cases


def _enum_cases(key: str, values: tuple[str, ...], wrong: str) -> list[Case]:
    return [
        *(_accepted(f"{key} {value!r}", {key: value}) for value in values),
        _accepted(f"{key} missing", {key: REMOVE}),
        _refused(f"{key} {wrong!r}", {key: wrong}, f"schema:{key}:enum"),
    ]


CASES: tuple[Case, ...] = (
    _accepted("the base listing", {}),
    # Required and length-bounded text.
    *_length_cases("make", 100, required=True),
    *_length_cases("model", 100, required=True),
    *_length_cases("description", 5000, required=False),
    *_length_cases("locationCity", 100, required=False),
    *_length_cases("stockNumber", 100, required=False),
    _accepted("sourceName at 100 characters", {"sourceName": "Mx" + "x" * 98}),
    _refused(
        "sourceName at 101 characters",
        {"sourceName": "Mx" + "x" * 99},
        "schema:sourceName:string_too_long",
    ),
    Case(
        "sourceName of only spaces",
        {"sourceName": "   "},
        ACCEPTED,
        stored={"source_name": FILE_SOURCE},
        why="a blank source is the file's source, so every row says where it came from",
    ),
    Case(
        "sourceName empty",
        {"sourceName": ""},
        ACCEPTED,
        stored={"source_name": FILE_SOURCE},
        why="an empty source is the file's source, so every row says where it came from",
    ),
    _further(
        "sourceName missing",
        {"sourceName": REMOVE},
        "a dropped file's records come from the file's source",
        stored={"source_name": FILE_SOURCE},
    ),
    _accepted("make of one character", {"make": "A"}),
    _accepted("model of only spaces", {"model": "  "}),
    # Year: the schema's bounds, then the business rule.
    _refused("year missing", {"year": REMOVE}, "schema:year:missing"),
    _refused("year 1899", {"year": 1899}, "schema:year:greater_than_equal"),
    _refused("year 1900 (business rule)", {"year": 1900}, "business_rule:year"),
    _refused("year 1919 (business rule)", {"year": 1919}, "business_rule:year"),
    _accepted("year 1920", {"year": 1920}),
    _accepted("year current + 2", {"year": NEXT_YEARS}),
    _refused("year current + 3", {"year": NEXT_YEARS + 1}, "schema:year:less_than_equal"),
    _refused("year 1970.5", {"year": 1970.5}, "schema:year:int_from_float"),
    _further(
        "year as text",
        {"year": "1970"},
        "a year in quotes is the same year; scraped pages give text",
        stored={"year": 1970},
        repair="year_text",
    ),
    # Price: optional; the seed's string form; the business rule when given.
    _accepted("price missing", {"price": REMOVE}),
    _accepted("price 45000", {"price": "45000"}),
    _accepted("price 45000.00", {"price": "45000.00"}),
    _accepted("price 1000 (lower bound)", {"price": "1000"}),
    _accepted("price 10000000.00 (upper bound)", {"price": "10000000.00"}),
    _refused("price 999.99 (business rule)", {"price": "999.99"}, "business_rule:price"),
    _refused("price 10000000.01 (business rule)", {"price": "10000000.01"}, "business_rule:price"),
    _refused("price 0 (business rule)", {"price": "0"}, "business_rule:price"),
    _refused("price not a number", {"price": "priceless"}, "schema:price:decimal_parsing"),
    _refused("price in pounds", {"price": "\u00a345,000"}, "source:price:currency"),
    _further(
        "price 45000.5",
        {"price": "45000.5"},
        "one decimal is an amount in dollars and cents all the same",
        stored={"price": Decimal("45000.50")},
        repair="price_text",
    ),
    _further(
        "price as a JSON number",
        {"price": 45000},
        "feeds and APIs give prices as numbers",
        stored={"price": Decimal("45000.00")},
    ),
    _further(
        "price as text with a dollar sign",
        {"price": "$45,000"},
        "listings write prices as text",
        stored={"price": Decimal("45000.00")},
        repair="price_text",
    ),
    _further(
        "price 'Call for price'",
        {"price": "Call for price"},
        "a listing without an asking price is a valid listing",
        stored={"price": None},
        repair="price_none",
    ),
    _further(
        "price null",
        {"price": None},
        "null is how JSON writers say 'no price'; zod's optional() takes only a missing key",
        stored={"price": None},
    ),
    # URLs: what the WHATWG parser accepts, kept as given.
    _accepted("imageUrl missing", {"imageUrl": REMOVE}),
    _accepted("imageUrl ftp", {"imageUrl": "ftp://files.example.com/chevelle.jpg"}),
    _accepted(
        "sourceUrl with a port and query", {"sourceUrl": "http://dealer.example.com:8080/l?id=7"}
    ),
    _refused("sourceUrl not a URL", {"sourceUrl": "not a url"}, "schema:sourceUrl:url_parsing"),
    _further(
        "sourceUrl missing",
        {"sourceUrl": REMOVE},
        "files people drop and some feeds have no page URL; the natural key does not use it",
    ),
    _further(
        "sourceUrl without a scheme",
        {"sourceUrl": "dealer.example.com/listings/1"},
        "the page meant is unambiguous",
        stored={"source_url": "https://dealer.example.com/listings/1"},
        repair="url_scheme",
    ),
    _further(
        "imageUrl not a URL",
        {"imageUrl": "not a url"},
        "a broken photo link is a quality flag on the listing, not a reason to lose it",
        stored={"image_url": None},
        repair="image_url_invalid",
    ),
    _further(
        "imageUrl protocol-relative",
        {"imageUrl": "//img.example.com/chevelle/1.jpg"},
        "pages write photo links without a scheme",
        stored={"image_url": "https://img.example.com/chevelle/1.jpg"},
        repair="url_scheme",
    ),
    # Location.
    _accepted("locationState missing", {"locationState": REMOVE}),
    _accepted("locationState of another country", {"locationState": "ON"}),
    _refused(
        "locationState of 1 letter", {"locationState": "O"}, "schema:locationState:string_too_short"
    ),
    _refused(
        "locationState of 3 letters",
        {"locationState": "OKL"},
        "schema:locationState:string_too_long",
    ),
    _further(
        "locationState as a name",
        {"locationState": "Oklahoma"},
        "pages write state names; the code is unambiguous",
        stored={"location_state": "OK"},
        repair="state_code",
    ),
    Case(
        "locationState in lower case",
        {"locationState": "ok"},
        ACCEPTED,
        stored={"location_state": "OK"},
        repair="state_code",
        why="a US state code is stored in capitals, as every other row has it",
    ),
    *_enum_cases(
        "locationRegion",
        ("West", "South", "Midwest", "Northeast", "Europe", "Asia", "Oceania"),
        "Southwest",
    ),
    _further(
        "locationRegion in lower case",
        {"locationRegion": "midwest"},
        "case is not meaning: stored as the seed spells it",
        stored={"location_region": "Midwest"},
        repair="choice_case",
    ),
    # Classification.
    *_enum_cases(
        "category",
        (
            "Muscle Cars",
            "Sports Cars",
            "Classic Cars",
            "Hot Rods",
            "Restomods",
            "Luxury Cars",
            "Trucks",
        ),
        "Vintage",
    ),
    _further(
        "category in another case",
        {"category": "muscle cars"},
        "case is not meaning: stored as the seed spells it",
        stored={"category": "Muscle Cars"},
        repair="choice_case",
    ),
    _further(
        "category synonym",
        {"category": "Muscle Car"},
        "common synonyms map onto the seed's values",
        stored={"category": "Muscle Cars"},
        repair="choice_alias",
    ),
    _further(
        "category 'Exotic'",
        {"category": "Exotic"},
        "exotics are sports cars in the seed's list",
        stored={"category": "Sports Cars"},
        repair="choice_alias",
    ),
    _further(
        "category 'Other'",
        {"category": "Other"},
        "'no category of the list' is a missing category, not a bad listing",
        stored={"category": None},
        repair="choice_none",
    ),
    *_enum_cases("condition", ("Excellent", "Very Good", "Good", "Fair", "Project"), "Mint"),
    _further(
        "condition 'Concours'",
        {"condition": "Concours"},
        "concours condition is the seed's best condition",
        stored={"condition": "Excellent"},
        repair="choice_alias",
    ),
    # Whitespace, numbers in text, unknown keys.
    Case(
        "make with spaces around it",
        {"make": "  Chevrolet "},
        ACCEPTED,
        why="whitespace is trimmed: the key and searches must not depend on it",
        stored={"make": "Chevrolet"},
        repair="make_case",
    ),
    _further(
        "stockNumber as a number",
        {"stockNumber": 12345},
        "a stock number given as a JSON number is its digits",
        stored={"stock_number": "12345"},
    ),
    Case(
        "make alias",
        {"make": "Chevy"},
        ACCEPTED,
        stored={"make": "Chevrolet"},
        repair="make_alias",
        why="one spelling per make, so the same car from two sites is one key",
    ),
    _accepted("an unknown key", {"vin": "136370K123456"}),
)
