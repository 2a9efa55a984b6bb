"""The columnar check against the model: the same decision and the same stored values.

Every record the columnar path takes, ``Vehicle.model_validate`` accepts with the same values,
the same fields set and the same ``to_row()``; every record the model refuses, the columnar
path leaves to it (None). Inputs: the conformance table, the fault tests' hostile values and
files, a catalogue of edge values per field, the two listing generators (raw and mapped as a
dropped file is), and property-based chunks.
"""

from __future__ import annotations

import random
import re
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench.columnar import check_vehicles
from bench.columnar.fields import (
    CHOICE_FIELDS,
    KEYS,
    TEXT_FIELDS,
    URL_PATTERN,
    WHITESPACE,
)
from bench.e2e.listings import Dataset, ListingStream, vehicle
from services.processor.quality.generator import ListingGenerator
from services.processor.stages import check
from services.processor.stages.normalize import Normalizer
from shared.events import RecordType
from shared.records import Vehicle, latest_year, url_problem
from tests.conformance.cases import CASES
from tests.faults.data import HOSTILE_VALUES, flood, vehicle_files

CHUNK = 1000
TAKEN_FLOOR = 0.90  # share of the generators' valid listings the columnar path must take
NORMALIZER = Normalizer("drop", "listings", RecordType.VEHICLES)  # as a dropped file's records


def mapped(values: list[Any]) -> list[Any]:
    """Return the values as the chunk reader hands them on: mapped and repaired."""
    return [NORMALIZER(value).record for value in values]


def agree(records: list[Any], chunk: int = CHUNK) -> tuple[int, int]:
    """Assert the columnar path agrees with the model; return (valid records, records taken)."""
    valid = taken = 0
    for first in range(0, len(records), chunk):
        part = records[first : first + chunk]
        fast = check_vehicles(part)
        assert len(fast) == len(part)
        for record, quick in zip(part, fast, strict=True):
            outcome = check.validate(record, Vehicle)
            accepted = isinstance(outcome, Vehicle)
            valid += accepted
            if quick is None:
                continue
            taken += 1
            assert accepted, (record, outcome)
            assert quick.to_row() == outcome.to_row(), record
            assert quick.__dict__ == outcome.__dict__, record
            assert _types(quick) == _types(outcome), record
            assert quick.model_fields_set == outcome.model_fields_set, record
    return valid, taken


def _types(record: Vehicle) -> dict[str, type]:
    return {name: type(value) for name, value in record.__dict__.items()}


def test_the_field_table_is_the_models() -> None:
    """Every model field is read from its alias with the model's own length bounds."""
    assert set(KEYS) == set(Vehicle.model_fields)
    assert all(Vehicle.model_fields[name].alias == key for name, key in KEYS.items())
    properties = Vehicle.model_json_schema(by_alias=True)["properties"]
    for field in TEXT_FIELDS:
        schema = properties[field.key]
        text = next(s for s in schema.get("anyOf", [schema]) if s.get("type") == "string")
        assert field.required == (field.key in Vehicle.model_json_schema()["required"])
        if not field.url:
            assert (text.get("minLength", 0), text["maxLength"]) == (
                field.min_chars,
                field.max_chars,
            ), field
    assert {f.name for f in CHOICE_FIELDS} | {f.name for f in TEXT_FIELDS} | {
        "year",
        "price",
    } == set(Vehicle.model_fields)


def test_the_whitespace_class_is_what_str_split_splits_on() -> None:
    """The tidying's whitespace is exactly Python's: every character ``isspace`` is true of."""
    assert set(WHITESPACE) == {chr(c) for c in range(0x110000) if chr(c).isspace()}


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(url=st.from_regex(URL_PATTERN, fullmatch=True))
def test_every_url_the_pattern_takes_the_whatwg_parser_takes(url: str) -> None:
    """The URL pattern is sound: the model's parser accepts whatever it matches."""
    assert url_problem(url) is None


def test_the_conformance_cases_agree_raw_and_mapped() -> None:
    """Each case of the seed's contract, as given and as mapped, gets the model's decision."""
    records = [case.record(index) for index, case in enumerate(CASES)]
    agree(records)
    valid, taken = agree(mapped(records))
    assert taken > 0.8 * valid, (valid, taken)


def test_the_hostile_values_and_fault_files_agree() -> None:
    """Non-objects, wrong types and broken rules are all left to the model."""
    values = list(HOSTILE_VALUES) + [r for f in vehicle_files(3, 4, 300) for r in f]
    values += list(flood(2000, 50))
    for records in (values, mapped(values)):
        valid, taken = agree(records, chunk=257)
        assert 0 < taken <= valid
    assert check_vehicles(list(HOSTILE_VALUES)) == [None] * len(HOSTILE_VALUES)


BASE: dict[str, Any] = {
    **vehicle(1, random.Random(1)),
    "price": Decimal("45000.00"),
}
EDGES: dict[str, list[Any]] = {
    "sourceName": ["", " ", "\t", "a", " a ", "a\x00b", "x" * 100, "x" * 101, " " + "x" * 100],
    "make": ["", "  ", "Ford\nMotor", "F\u00a0o\u3000rd", "\x00", "Ford\x85", "é" * 100, 7, None],
    "model": ["e\u0301" * 50, "e\u0301" * 51, "😀" * 100, "😀" * 101, "a\ud800b", ["911"]],
    "description": ["", "   ", None, "a  b", "x" * 5000, "x" * 5001, " x" * 2501, "\x1c\x1d"],
    "locationCity": ["", "Tulsa ", "\u2028Tulsa", "x" * 101, 12],
    "locationState": ["ok", "OK ", " O K", "O", "OKL", "", "\u00d6K", "O\u0301"],
    "stockNumber": [12345, "", "  ", "S 1", True, 1.5],
    "year": [1920, 1919, 1899, latest_year(), latest_year() + 1, 1970.0, "1970", True, 2**70],
    "price": [
        *(None, "", " ", "45000", "45000.5", "45000.50", "045000", "45000.505", " 45000"),
        *("999.99", "1000", "10000000", "10000000.00", "10000000.01", "4.5e4", "1_000"),
        *(1000, 999, 10_000_000, 10_000_001, -5000, True, 45000.0, 2**80),
        *(Decimal("45000.000"), Decimal("4.5E+4"), Decimal("NaN"), Decimal("-0")),
        *(Decimal("45000.001"), Decimal("1E+3"), Decimal("Infinity"), Decimal("45000.1")),
    ],
    "category": ["muscle cars", "MUSCLE-CARS", " Muscle  Cars ", "muscle_cars", "MUSCLE"],
    "condition": ["", " ", None, "very good", "Mint", "VERY_GOOD", "Very\u00a0Good", 3],
    "locationRegion": ["midwest", "Southwest", "\u212a", "SOUTH", "so uth"],
    "imageUrl": [
        *("https://a.example.com/x.jpg", "HTTPS://A.EXAMPLE.COM/", "http://1.2.3.4/", "", None),
        *("http://a.example.com:65536/", "http://a.example.com:8080/x?y=1#z", "http://a.b.1/"),
        *("http://user@a.example.com/", "http://xn--nxasmq6b.com/", "http://a..b/", "//x.jp"),
        *("http://a.example.com./", "http://exämple.com/", "ftp://a.example.com/x", " http://a.b "),
        *("http://a_b.example.com/", "http://a.example.com/p a", "http://a.example.com\\p", "x"),
        *("http://0x10/", "http://a-.example.com/", "http://-a.example.com/", "http://a--b.c/"),
    ],
    "sourceUrl": ["https://dealer.example.com/l/1", "not a url", "", " ", "https://ü.example/"],
}


def test_a_catalogue_of_edge_values_agrees_field_by_field() -> None:
    """Each edge value of each field, in the base listing, gets the model's decision."""
    records: list[Any] = [BASE]
    for key, values in EDGES.items():
        records += [{**BASE, key: value} for value in values]
    records += [{k: v for k, v in BASE.items() if k != key} for key in BASE]  # each key missing
    records += [{**BASE, "source_name": "other"}, {**BASE, "image_url": "http://a.example.com/"}]
    records += [{**BASE, "vin": "136370K123456", "title": None}]
    for chunk in (records, mapped(records)):
        valid, taken = agree(chunk)
        assert taken >= 0.6 * valid, (valid, taken)  # 66 of 97 as given, 78 of 101 mapped


def test_the_generated_listings_agree_and_the_common_case_is_taken() -> None:
    """Both generators, raw and mapped: no disagreement, and >= 90 % of valid listings taken."""
    listings = [listing.record for listing in ListingGenerator(11).listings(6000)]
    listings += [listing.record for listing in ListingGenerator(12, "rehosted").listings(2000)]
    stream, stats = ListingStream(5, 0.05, 0.03, 0.05), Dataset()
    listings += [stream.next(stats) for _ in range(8000)]
    agree(listings)
    valid, taken = agree(mapped(listings))
    print(f"\ncolumnar path took {taken} of {valid} valid generated listings ({taken / valid:.1%})")
    assert taken >= TAKEN_FLOOR * valid, (valid, taken)


texts = st.text(st.characters(codec="utf-8"), max_size=12) | st.sampled_from(
    ["", " ", "\t", "a\x00", "Ford", " Ford  GT ", "é", "x" * 101]
)
values = st.dictionaries(
    st.sampled_from(sorted(BASE)),
    st.one_of(
        texts,
        st.none(),
        st.integers(1800, 2100) | st.integers(-(10**20), 10**20),
        st.decimals(allow_nan=True, places=3) | st.decimals(allow_nan=False, places=2),
        st.booleans(),
        st.floats(allow_nan=True),
        st.from_regex(r"https?://[a-z0-9.:-]{0,12}(/[!-~ ]{0,6})?", fullmatch=True),
        st.sampled_from([c.value for f in CHOICE_FIELDS for c in f.enum]).map(str.lower),
    ),
    max_size=4,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(changes=st.lists(values, min_size=1, max_size=40))
def test_chunks_of_altered_listings_agree(changes: list[dict[str, Any]]) -> None:
    """Listings with a few fields replaced by arbitrary values, checked as one chunk, agree."""
    records = [{**BASE, **change} for change in changes]
    agree(records)
    agree(mapped(records))


def test_an_empty_chunk_and_a_chunk_of_non_objects() -> None:
    """No records, no decisions; records that are not objects are all left to the model."""
    assert check_vehicles([]) == []
    assert check_vehicles([None, [], "x", 1]) == [None] * 4
    assert re.fullmatch(URL_PATTERN, "https://a.example.com/x.jpg")
