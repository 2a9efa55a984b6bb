"""Full-text search with ranking, model years and the trigram fallback for misspellings."""

# The shared fixtures live in test_importer.py; tests take them as parameters of the same name.
# ruff: noqa: F811

from __future__ import annotations

from decimal import Decimal

import asyncpg
import pytest

from services.importer.search import search
from shared.events import RecordType
from shared.records import record_hash
from tests.integration.test_importer import migrated_url, pool  # noqa: F401 - fixtures

pytestmark = [pytest.mark.postgres]

CARS = [
    (1969, "Chevrolet", "Camaro SS", "Numbers matching SS 396, Hugger Orange", "Tulsa"),
    (1969, "Chevrolet", "Camaro", "Base coupe, six cylinder", "Denver"),
    (1970, "Chevrolet", "Camaro SS", "Rally sport with the SS package", "Austin"),
    (1969, "Ford", "Mustang Mach 1", "Fastback, 428 Cobra Jet", "Tulsa"),
    (1967, "Chevrolet", "Chevelle SS", "SS 396 big block", "Reno"),
]


@pytest.fixture
async def cars(pool: asyncpg.Pool) -> asyncpg.Pool:
    """Return the pool with five vehicles and two events loaded."""
    for i, (year, make, model, description, city) in enumerate(CARS):
        await pool.execute(
            "INSERT INTO vehicles (source_name, make, model, year, price, description, "
            "location_city, data_hash) VALUES ('drop', $1, $2, $3, $4, $5, $6, $7)",
            make,
            model,
            year,
            Decimal(30_000 + i),
            description,
            city,
            record_hash(make, model, year, i),
        )
    for name, city in (("Pebble Beach Concours", "Pebble Beach"), ("Hot August Nights", "Reno")):
        await pool.execute(
            "INSERT INTO events (source_name, name, event_type, start_date, city, data_hash) "
            "VALUES ('feed', $1, 'show', '2026-08-01', $2, $3)",
            name,
            city,
            record_hash(name, city),
        )
    return pool


async def run(pool: asyncpg.Pool, query: str, kind: RecordType = RecordType.VEHICLES) -> list:
    """Search on a pooled connection."""
    async with pool.acquire() as conn:
        return await search(conn, query, kind, 10)


async def test_two_digit_year_and_all_words_find_the_exact_car(cars: asyncpg.Pool) -> None:
    """ "69 camaro ss" finds the 1969 Camaro SS only (every word must match)."""
    results = await run(cars, "69 camaro ss")
    assert [(r["year"], r["model"]) for r in results] == [(1969, "Camaro SS")]
    assert results[0]["match"] == "all"
    assert set(results[0]) >= {"id", "make", "price", "source_name", "rank"}


async def test_name_weighs_more_than_description(cars: asyncpg.Pool) -> None:
    """A word in the make or model ranks above the same word in a description."""
    results = await run(cars, "ss")
    models = [r["model"] for r in results]
    assert set(models) == {"Camaro SS", "Chevelle SS"}
    assert results[0]["rank"] >= results[-1]["rank"]


async def test_misspelled_model_falls_back_to_trigrams(cars: asyncpg.Pool) -> None:
    """ "69 camero" finds Camaros by trigram similarity, the 1969 ones first."""
    results = await run(cars, "69 camero")
    assert {r["model"] for r in results} == {"Camaro SS", "Camaro"}
    assert results[0]["match"] == "fuzzy"
    assert [r["year"] for r in results][:2] == [1969, 1969]
    assert results[-1]["year"] == 1970


async def test_partial_match_is_the_last_resort(cars: asyncpg.Pool) -> None:
    """When no row matches every word nor a name, rows matching any word are ranked."""
    results = await run(cars, "cobra jet 123456")
    assert [r["model"] for r in results] == ["Mustang Mach 1"]
    assert results[0]["match"] == "any"


async def test_events_are_searched_by_name_and_city(cars: asyncpg.Pool) -> None:
    """Events match on name and city; a typo in the name still finds it; nonsense finds none."""
    assert [r["name"] for r in await run(cars, "reno", RecordType.EVENTS)] == ["Hot August Nights"]
    fuzzy = await run(cars, "peeble beach concourse", RecordType.EVENTS)
    assert fuzzy[0]["name"] == "Pebble Beach Concours"
    assert await run(cars, "zzzz qqqq", RecordType.EVENTS) == []
    assert await run(cars, "   ") == []


async def test_a_listing_without_a_price_is_found_and_so_is_its_category(
    cars: asyncpg.Pool,
) -> None:
    """An auction lot with no asking price is a row like any other; the seed's category is text."""
    await cars.execute(
        "INSERT INTO vehicles (source_name, make, model, year, category, condition, data_hash)"
        " VALUES ('auction', 'Plymouth', 'Road Runner', 1969, 'Muscle Cars', 'Project', $1)",
        record_hash("Plymouth", "Road Runner", 1969, "lot-7"),
    )
    (lot,) = await run(cars, "road runner")
    assert (lot["price"], lot["category"], lot["condition"]) == (None, "Muscle Cars", "Project")
    assert [r["model"] for r in await run(cars, "muscle cars")] == ["Road Runner"]
    assert [r["model"] for r in await run(cars, "project plymouth")] == ["Road Runner"]
