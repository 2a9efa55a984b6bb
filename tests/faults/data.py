"""Deterministic input for fault tests: vehicle files with invalid records and duplicates."""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

MAKES = ("Chevrolet", "Ford", "Porsche", "Dodge", "Jaguar", "Plymouth", "Pontiac", "Mercedes-Benz")
CITIES = (("Tulsa", "OK"), ("Austin", "TX"), ("Denver", "CO"), ("Boise", "ID"), ("Reno", "NV"))


def vehicle(rng: random.Random, index: int) -> dict[str, Any]:
    """Return one valid, distinctive vehicle listing."""
    city, state = rng.choice(CITIES)
    return {
        "make": rng.choice(MAKES),
        "model": f"Model {index:05d} {rng.choice(['Coupe', 'Roadster', 'Fastback'])}",
        "year": rng.randint(1925, 2005),
        "price": rng.randint(2_000, 900_000),
        "description": f"Listing {index}, {rng.randint(10, 200)}k miles",
        "locationCity": city,
        "locationState": state,
        "sourceName": rng.choice(["dealer-a", "dealer-b", "auction-c"]),
        "stockNumber": f"S{index:06d}",
    }


def vehicle_files(seed: int, files: int, per_file: int) -> list[list[Any]]:
    """Return ``files`` lists of records: ~8% invalid, and exact duplicates across files."""
    rng = random.Random(seed)
    out: list[list[Any]] = []
    index = 0
    for number in range(files):
        records: list[Any] = []
        for _ in range(per_file):
            index += 1
            record = vehicle(rng, index)
            roll = rng.random()
            if roll < 0.04:
                record["price"] = rng.choice([5, -1, "lots", None])
            elif roll < 0.08:
                record["year"] = rng.choice([1850, 1900, "old"])
            records.append(record)
        if number > 0:
            records.extend(rng.sample(out[number - 1], k=min(10, len(out[number - 1]))))
        out.append(records)
    return out


def is_valid(record: object) -> bool:
    """Return True if the generator meant the record to pass validation."""
    if not isinstance(record, dict):
        return False
    price, year = record.get("price"), record.get("year")
    priced = price is None or (isinstance(price, int) and price >= 1000)  # no price is valid
    return priced and isinstance(year, int) and year >= 1920


def valid_keys(files: list[list[Any]]) -> set[str]:
    """Return the stock numbers of the distinct valid records across files (one row each)."""
    return {r["stockNumber"] for f in files for r in f if is_valid(r)}


HOSTILE_VALUES: tuple[Any, ...] = (
    42,
    "a string, not a listing",
    None,
    [],
    {},
    {"make": "Ford", "model": "T", "year": 1850, "price": 5_000},
    {"make": "Ford", "model": "A", "year": 1930, "price": "lots"},
    {"make": "", "model": "", "year": "old", "price": -1},
    {"make": "Dodge", "model": "Charger", "year": 1969, "price": 5},
    {"make": "Jaguar", "model": "E-Type" * 40, "year": 1966, "price": {"amount": 1}},
)
"""Values that must each fail with a reason: non-objects, wrong types, broken business rules."""


def flood(total: int, distinct: int, valid_share: float = 0.3) -> Iterator[Any]:
    """Yield ``total`` values: ``distinct`` valid listings, exact repeats of them, hostile values.

    Value ``i`` is valid when ``(i % 10) < valid_share * 10``: the n-th valid value is listing
    ``n % distinct`` (so each repeats ``~total * valid_share / distinct`` times); every other
    value cycles through ``HOSTILE_VALUES``. Deterministic.
    """
    rng = random.Random(total)
    listings = [vehicle(rng, index) for index in range(1, distinct + 1)]
    valid_per_ten = round(valid_share * 10)
    valid = hostile = 0
    for index in range(total):
        if index % 10 < valid_per_ten:
            yield listings[valid % distinct]
            valid += 1
        else:
            yield HOSTILE_VALUES[hostile % len(HOSTILE_VALUES)]
            hostile += 1
