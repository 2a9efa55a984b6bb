"""Property-based: no input makes the record validators crash; they accept or explain."""

from __future__ import annotations

from typing import Any

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from shared.events import RecordType
from shared.records import MODELS

json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=300),
)
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=20,
)
FIELDS = sorted(
    {
        alias
        for model in MODELS.values()
        for alias in model.model_json_schema(by_alias=True)["properties"]
    }
)
records = st.dictionaries(st.sampled_from(FIELDS) | st.text(max_size=12), json_values, max_size=20)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(record=records)
def test_validators_accept_or_explain_any_record(record: dict[str, Any]) -> None:
    """Every model either validates a record into a row with a hash or raises ValidationError."""
    for model in MODELS.values():
        assert _accepted_or_explained(model, record)


def _accepted_or_explained(model: type[Any], record: dict[str, Any]) -> bool:
    try:
        row = model.model_validate(record).to_row()
    except ValidationError as exc:
        return bool(exc.errors(include_url=False))
    orjson.dumps(row)  # every accepted row is JSON-ready for the processed file
    return len(row["data_hash"]) == 64


texts = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=120)
vehicles = st.fixed_dictionaries(
    {
        "make": texts,
        "model": texts,
        "year": st.one_of(st.integers(1880, 2100), texts),
        "price": st.one_of(
            st.integers(-10, 20_000_000), st.decimals(allow_nan=True, places=3), texts
        ),
        "sourceName": texts,
    },
    optional={
        "description": texts,
        "imageUrl": texts,
        "locationState": texts,
        "category": texts,
        "condition": texts,
        "stockNumber": texts,
    },
)


@settings(max_examples=300, deadline=None)
@given(record=vehicles)
def test_vehicle_validator_on_vehicle_shaped_input(record: dict[str, Any]) -> None:
    """Vehicle-shaped input with hostile strings and numbers is accepted or explained."""
    assert _accepted_or_explained(MODELS[RecordType.VEHICLES], record)
