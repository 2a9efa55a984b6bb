"""Property-based: no item makes a source normalizer fail; validation then accepts or explains."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from services.processor.sources import MAPPERS
from services.processor.stages.normalize import Normalizer
from shared.events import RecordType
from shared.records import MODELS

TOOLS = sorted({*MAPPERS, "apify"})
texts = st.text(max_size=80)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**20), 10**20),
    st.floats(allow_nan=True, allow_infinity=True),
    texts,
    st.sampled_from(["$61,000", "Bid to $61,000", "61k", "June 12-14, 2026", "California"]),
)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(texts, inner, max_size=3),
    max_leaves=12,
)
KEYS = [
    "title", "url", "make", "model", "year", "price", "currentBid", "soldPrice", "location",
    "description", "content", "published_date", "publishedTime", "page_age", "name",
    "startDate", "eventType", "city", "state", "_citations", "_search_results", "_actor",
    "imageUrl", "sourceName",
]  # fmt: skip
items = st.one_of(values, st.dictionaries(st.sampled_from(KEYS) | texts, values, max_size=12))


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(item=items, tool=st.sampled_from(TOOLS), record_type=st.sampled_from(list(RecordType)))
def test_normalizers_never_fail_on_any_item(item: Any, tool: str, record_type: RecordType) -> None:
    """Every source's mapper handles any item without a mapper failure, then validation decides."""
    mapped = Normalizer(tool=tool, source="prop", record_type=record_type)(item)
    assert not [e for e in mapped.errors if e.get("rule") == "mapper_failed"], mapped.errors
    if isinstance(mapped.record, dict):
        try:
            MODELS[record_type].model_validate(mapped.record)
        except ValidationError as exc:
            assert exc.errors(include_url=False)  # noqa: PT017 - accepted or explained
