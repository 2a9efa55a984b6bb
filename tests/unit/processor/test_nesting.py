"""The nesting counter agrees with the parser on any JSON text, however it is cut into chunks."""

from __future__ import annotations

from typing import Any

import orjson
from hypothesis import given
from hypothesis import strategies as st

from services.processor.stages.nesting import NestingCounter

_TEXT = st.text(alphabet=st.sampled_from('ab[]{}"\\/, \n\u00e9'), max_size=12)
_JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | _TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_TEXT, inner, max_size=4),
    max_leaves=40,
)


def _depth(value: Any) -> int:
    if isinstance(value, list):
        return 1 + max(map(_depth, value), default=0)
    if isinstance(value, dict):
        return 1 + max(map(_depth, value.values()), default=0)
    return 0


@given(_JSON, st.integers(min_value=1, max_value=9))
def test_the_count_is_the_parsed_depth(value: Any, chunk: int) -> None:
    """Fed in chunks of any size, the deepest level counted is the value's own depth."""
    text = orjson.dumps(value)
    counter = NestingCounter()
    for start in range(0, len(text), chunk):
        counter.feed(text[start : start + chunk])
    assert counter.deepest == _depth(value)
    assert counter.depth == 0
