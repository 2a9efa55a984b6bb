"""How search reads a query: model years, the words worth a trigram match."""

from __future__ import annotations

import pytest

from services.importer.search import expand_years, fuzzy_words, query_year
from shared.events import RecordType


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("69 camaro ss", "1969 camaro ss"),
        ("'57 bel air", "1957 bel air"),
        ("1969 camaro", "1969 camaro"),
        ("camaro 350", "camaro 350"),
    ],
)
def test_two_digit_words_are_read_as_model_years(query: str, expected: str) -> None:
    """A two-digit word (optionally with an apostrophe) becomes 19xx for vehicles."""
    assert expand_years(query, RecordType.VEHICLES) == expected


def test_years_are_not_expanded_for_events_and_articles() -> None:
    """Only vehicles have model years; other queries are left as typed."""
    assert expand_years("route 66 cruise", RecordType.EVENTS) == "route 66 cruise"


@pytest.mark.parametrize(
    ("query", "year"),
    [("69 camaro", 1969), ("camaro 1970 ss", 1970), ("camaro ss", None), ("camaro 350", None)],
)
def test_query_year_finds_the_named_model_year(query: str, year: int | None) -> None:
    """The first two- or four-digit year of a query boosts listings of that year."""
    assert query_year(query) == year


def test_fuzzy_words_skip_numbers_and_short_words() -> None:
    """Trigram matching uses words of three letters or more, lower-cased, at most six."""
    assert fuzzy_words("69 Camero SS big-block") == ["camero", "big-block"]
    assert len(fuzzy_words(" ".join(f"word{i}x" for i in range(10)))) == 6
