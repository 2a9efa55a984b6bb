"""The sample files in examples/ that the README's first five minutes drop have the right shape."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import orjson
import pytest

from shared.records import MODELS, RecordType

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
SEED_VEHICLE_KEYS = {  # the seed's vehicleSchema, camelCase as it spells them
    "make", "model", "year", "price", "description", "imageUrl", "locationCity", "locationState",
    "locationRegion", "category", "condition", "sourceName", "sourceUrl", "stockNumber",
}  # fmt: skip
SEED_REQUIRED = {"make", "model", "year", "sourceName"}
SEED_PRICE = re.compile(r"^\d+(\.\d{2})?$")


def _records(record_type: RecordType) -> list[dict[str, Any]]:
    records = orjson.loads((EXAMPLES / f"{record_type.value}.json").read_bytes())
    assert isinstance(records, list)
    return records


def test_vehicle_sample_uses_the_seeds_fields_and_price_form() -> None:
    """Five to ten listings with only the seed's fields; prices in the seed's "45000.00" form."""
    vehicles = _records(RecordType.VEHICLES)
    assert 5 <= len(vehicles) <= 10
    for vehicle in vehicles:
        assert set(vehicle) <= SEED_VEHICLE_KEYS
        assert set(vehicle) >= SEED_REQUIRED
        assert "price" not in vehicle or SEED_PRICE.match(vehicle["price"]), vehicle["price"]
        assert isinstance(vehicle["year"], int)
        assert len(vehicle["locationState"]) == 2
    assert len({v["stockNumber"] for v in vehicles}) == len(vehicles)


def test_vehicle_sample_is_valid_as_the_product_reads_it() -> None:
    """Every listing of the sample is a valid vehicle: the first five minutes give all its rows."""
    for vehicle in _records(RecordType.VEHICLES):
        MODELS[RecordType.VEHICLES].model_validate(vehicle)


@pytest.mark.parametrize("record_type", [RecordType.EVENTS, RecordType.ARTICLES])
def test_event_and_article_samples_validate_as_the_products_records(
    record_type: RecordType,
) -> None:
    """The events and articles samples are valid records of the product's own models."""
    for record in _records(record_type):
        MODELS[record_type].model_validate(record)
