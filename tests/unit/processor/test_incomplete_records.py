"""Records a provider leaves incomplete: kept when what identifies them is there, refused if not."""

from __future__ import annotations

from typing import Any

import pytest

from services.processor.sources.event_types import infer_event_type
from services.processor.stages import check
from services.processor.stages.normalize import Normalizer
from shared.events import RecordType
from shared.records import PLACE_MISSING, CarEvent, EventType, Vehicle

E, V = RecordType.EVENTS, RecordType.VEHICLES
CITED = "https://gulfcoastauction.example.com/2026"


def _normalized(tool: str, record_type: RecordType, item: dict[str, Any]) -> Any:
    mapped = Normalizer(tool, tool, record_type)(item)
    model = CarEvent if record_type is E else Vehicle
    outcome = check.validate(mapped.record, model)
    return mapped, check.with_source_errors(mapped.errors, outcome), outcome


def _event(**changes: Any) -> dict[str, Any]:
    item: dict[str, Any] = {
        "name": "Gulf Coast Muscle Car Auction",
        "start_date": "2026-04-17",
        "end_date": "2026-04-18",
        "venue": "Mississippi Coast Coliseum",
        "city": "Biloxi",
        "state": "MS",
        "url": CITED,
        "_citations": [CITED],
        "_search_results": [],
    }
    item.update(changes)
    return {key: value for key, value in item.items() if value is not None}


@pytest.mark.parametrize(
    ("name", "description", "expected"),
    [
        ("Concours on the Green", None, EventType.CONCOURS),
        ("Gulf Coast Muscle Car Auction", None, EventType.AUCTION),
        ("Carlisle Spring Swap Meet", None, EventType.SWAP_MEET),
        ("Cars & Coffee Irvine", None, EventType.MEET),
        ("Friday Night Cruise-In", None, EventType.CRUISE),
        ("Colorado Grand", "A 1,000-mile road tour for pre-1961 cars", EventType.RALLY),
        ("Pittsburgh Vintage Grand Prix", None, EventType.RACE),
        ("Detroit Autorama", None, EventType.SHOW),
        ("Spring Fling", "Bring your ride", None),
    ],
)
def test_the_type_is_read_from_the_name_then_the_description(
    name: str, description: str | None, expected: EventType | None
) -> None:
    """An event's words name its type; the most specific type wins, nothing found is None."""
    assert infer_event_type(name, description) == expected


def test_an_event_without_a_type_gets_one_and_the_repair_is_recorded() -> None:
    """Perplexity's event without eventType is kept, typed from its name, the repair listed."""
    mapped, errors, event = _normalized("perplexity", E, _event())
    assert errors == []
    assert isinstance(event, CarEvent)
    assert event.event_type is EventType.AUCTION
    assert {"field": "eventType", "from": None, "to": "auction", "rule": "event_type_inferred"} in (
        mapped.repairs
    )


@pytest.mark.parametrize("given", [None, "", "parade", 7])
def test_a_missing_or_unknown_type_with_no_words_to_go_by_is_other(given: Any) -> None:
    """Nothing in the name or description names a type: ``other``, recorded with what was given."""
    item = _event(name="Spring Fling", eventType=given)
    mapped, errors, event = _normalized("drop", E, item)
    assert errors == []
    assert event.event_type is EventType.OTHER
    repair = next(r for r in mapped.repairs if r["field"] == "eventType")
    assert (repair["from"], repair["rule"]) == (given, "event_type_other")


def test_a_known_type_is_kept_as_given() -> None:
    """A type the vocabulary knows is its own, not inferred from the name."""
    mapped, _, event = _normalized("perplexity", E, _event(event_type="Car Show"))
    assert event.event_type is EventType.SHOW
    assert all(r["rule"] != "event_type_inferred" for r in mapped.repairs)


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"name": None}, "schema:name:missing"),
        ({"start_date": None}, "schema:startDate:missing"),
        ({"start_date": "sometime soon"}, "schema:startDate:date_from_datetime_parsing"),
        ({"city": None, "venue": None}, "schema:city:missing"),
    ],
)
def test_an_event_without_name_date_or_place_is_refused_with_its_reason(
    changes: dict[str, Any], reason: str
) -> None:
    """What identifies an event or makes it usable is still required, and the reason is named."""
    _, errors, _ = _normalized("perplexity", E, _event(**changes))
    assert reason in [check.reason_key(e) for e in errors]


def test_a_place_is_a_city_or_a_venue() -> None:
    """A venue without a city is a place; a state alone is not, and the message says so."""
    _, errors, event = _normalized("perplexity", E, _event(city=None))
    assert errors == []
    assert (event.venue, event.city) == ("Mississippi Coast Coliseum", None)
    _, errors, _ = _normalized("perplexity", E, _event(city=None, venue=None, state="MS"))
    assert [e["message"] for e in errors] == [PLACE_MISSING]


def test_a_perplexity_listing_is_read_with_its_url_and_currency() -> None:
    """A listing's ``url`` is its page; a price in euros is refused, not read as dollars."""
    item = {
        "title": "1967 Ford Mustang Fastback",
        "price": 45000,
        "currency": "USD",
        "url": CITED,
        "_citations": [CITED],
    }
    _, errors, vehicle = _normalized("perplexity", V, item)
    assert errors == []
    assert (vehicle.make, vehicle.model, vehicle.year) == ("Ford", "Mustang Fastback", 1967)
    assert vehicle.source_url == CITED
    for currency in ("EUR", "SEK", "RUB"):
        _, errors, _ = _normalized("perplexity", V, {**item, "currency": currency})
        assert [check.reason_key(e) for e in errors] == ["source:price:currency"]


def test_perplexity_fields_in_snake_case_are_repaired_like_the_others() -> None:
    """Perplexity's ``start_date`` range and ``event_type`` synonym are repaired as camelCase."""
    item = _event(start_date="May 16-17, 2026", end_date=None, event_type="Car Show")
    mapped, errors, event = _normalized("perplexity", E, item)
    assert errors == []
    assert (str(event.start_date), str(event.end_date)) == ("2026-05-16", "2026-05-17")
    assert event.event_type is EventType.SHOW
    assert {r["rule"] for r in mapped.repairs} == {"date_range", "choice_alias"}


def test_every_failure_of_an_event_is_reported_with_its_missing_place() -> None:
    """An event with no date, an end before its start and no place has each reason listed."""
    for changes, reasons in [
        ({"start_date": None}, ["schema:startDate:missing", "schema:city:missing"]),
        ({"end_date": "2026-04-01"}, ["business_rule:record", "schema:city:missing"]),
    ]:
        _, errors, _ = _normalized("perplexity", E, _event(city=None, venue=" ", **changes))
        assert [check.reason_key(e) for e in errors] == reasons
