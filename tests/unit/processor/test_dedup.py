"""Blocking keys, pair scoring and linking order, without a database."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

import pytest
from hypothesis import given
from hypothesis import strategies as st
from rapidfuzz import fuzz

from services.processor.dedup.keys import (
    LOCK_STRIPES,
    description_length,
    description_words,
    evidence,
    from_row,
    image_key,
    key_id,
    lock_ids,
    sorted_words,
    text,
    vehicle_id,
)
from services.processor.dedup.market import (
    Market,
    MarketCache,
    YearPrices,
    market_context,
    year_keys,
)
from services.processor.dedup.rarity import Rarity
from services.processor.dedup.scoring import (
    ANY_PRICE,
    IDENTIFYING,
    LINK_THRESHOLD,
    description_similarity,
    field_scores,
    price_range,
    score,
)
from services.processor.quality.report import cluster


def _row(data_hash: str = "a" * 64, **changes: Any) -> dict[str, Any]:
    row = {
        "data_hash": data_hash,
        "make": "Chevrolet",
        "model": "Chevelle SS",
        "year": 1970,
        "price": "45000.00",
        "location_city": "Tulsa",
        "location_state": "OK",
        "description": "Red Chevelle SS, numbers matching 454, frame-off restoration",
        "image_url": "https://img.site-a.example.com/p/1.jpg",
        "source_name": "site-a",
        "source_url": "https://site-a.example.com/listing/1",
        "stock_number": "A-1",
    }
    row.update(changes)
    return row


SAME_CAR_ELSEWHERE = {
    "data_hash": "b" * 64,
    "model": "Chevele SS",
    "price": "46500",
    "description": "Red Chevelle SS, numbers matching 454, frame-off restoraton",
    "image_url": "https://img.site-b.example.com/p/1.jpg",
    "source_name": "site-b",
    "source_url": "https://site-b.example.com/l/9",
    "stock_number": "B-9",
}


@given(st.text())
def test_text_keeps_lower_case_letters_and_digits_as_words(value: str) -> None:
    """The ASCII fast path and the general path agree: every other character splits words."""
    expected = " ".join(re.sub(r"[^a-z0-9 ]+", " ", value.lower()).split())
    assert text(value) == expected


_URL_PART = st.text(alphabet=st.sampled_from("aZ09.-_~/?#:@[]% \\\t\u00e9"), max_size=12)


@given(st.sampled_from(["https://", "HTTP://", "http://", "ftp://", " https://", ""]), _URL_PART)
def test_image_key_cuts_urls_as_urlsplit_does(scheme: str, rest: str) -> None:
    """The fast path and urlsplit give the same host and path, for any URL shape."""
    text = (scheme + rest).strip().lower()
    try:
        parts = urlsplit(text) if text else None
    except ValueError:  # a bracket that opens no IPv6 host: both refuse it
        with pytest.raises(ValueError, match="IPv6"):
            image_key(scheme + rest)
        return
    expected = f"{parts.netloc.removeprefix('www.')}{parts.path}" if parts else ""
    assert image_key(scheme + rest) == expected


def test_image_key_of_a_photo() -> None:
    """Host without www. and path, lower-cased; query and fragment dropped."""
    assert (
        image_key(" https://WWW.Img.example.com/1/Front.jpg?w=3#x ")
        == "img.example.com/1/front.jpg"
    )


def test_text_of_a_title() -> None:
    """Case, punctuation and spacing go; accented letters split words as other symbols do."""
    assert text("  1967 Ford MUSTANG  Fastback/4-Speed ") == "1967 ford mustang fastback 4 speed"
    assert text("Café Racer") == "caf racer"
    assert text(None) == ""


def test_same_car_on_two_sites_links() -> None:
    """A typo in the model, a price change and a re-hosted photo still link, naming the fields."""
    value, fields = score(from_row(_row()), from_row(_row(**SAME_CAR_ELSEWHERE)))
    assert value >= LINK_THRESHOLD
    assert {"model", "year", "location", "description", "image"} <= set(fields)


def test_two_chevelles_in_two_cities_do_not_link() -> None:
    """Same make, model and year in different cities are two cars, even with a similar text."""
    other = _row("c" * 64, location_city="Denver", location_state="CO", image_url=None)
    other["description"] = _row()["description"]
    assert score(from_row(_row()), from_row(other)) == (0.0, [])


def test_same_site_different_pages_and_photos_do_not_link() -> None:
    """A dealer's two similar cars (own pages, own photos) are not duplicates."""
    other = _row(
        "d" * 64,
        stock_number="A-2",
        source_url="https://site-a.example.com/listing/2",
        image_url="https://img.site-a.example.com/p/2.jpg",
    )
    assert score(from_row(_row()), from_row(other))[0] == 0.0


def test_repost_with_new_stock_number_links() -> None:
    """A re-post on the same site with a new stock number and page but the same photo links."""
    other = _row("e" * 64, stock_number="A-77", source_url="https://site-a.example.com/listing/77")
    assert score(from_row(_row()), from_row(other))[0] >= LINK_THRESHOLD


def test_lookalike_without_identifying_evidence_does_not_link() -> None:
    """Same make/model/year/city and price, but another description and no photo: no link."""
    other = _row("f" * 64, description="Blue Chevelle, automatic, new interior", image_url=None)
    assert score(from_row(_row()), from_row(other))[0] == 0.0


@pytest.mark.parametrize(
    "changes", [{"make": "Ford"}, {"year": 1972}, {"location_state": "TX", "image_url": None}]
)
def test_vetoes(changes: dict[str, Any]) -> None:
    """Another make, a year two apart or another state (with no shared photo) never link."""
    assert score(from_row(_row()), from_row(_row("9" * 64, **changes)))[0] == 0.0


def _shares_a_key(stored: dict[str, Any], probe: dict[str, Any]) -> bool:
    """Whether a probe of ``probe`` reads ``stored`` (a shared key, years at most one apart)."""
    one, other = from_row(stored), from_row(probe)
    shared = set(evidence(one).ids) & set(evidence(other).ids)
    return abs(one.year - other.year) <= 1 and bool(shared)


@pytest.mark.parametrize("year", [1969, 1970, 1971])
def test_an_edited_description_a_year_off_shares_a_key(year: int) -> None:
    """The same car, its description edited, with no photo, one year either side: a key."""
    assert _shares_a_key(_row(), _row(**{**SAME_CAR_ELSEWHERE, "image_url": None, "year": year}))


def test_another_town_or_another_car_s_text_is_no_candidate() -> None:
    """Another town is vetoed without the photo; another car's description shares no word key.

    Another car of the same make, year and town is still read through the facts key, and the
    scorer refuses it: its description tells it apart.
    """
    other = _row("b" * 64, image_url=None, location_city="Denver", location_state="CO")
    assert not _shares_a_key(_row(), other)
    text = "Blue Chevelle SS, automatic, new interior, air conditioning, garage kept"
    one, two = from_row(_row()), from_row(_row("c" * 64, image_url=None, description=text))
    assert set(evidence(one).words).isdisjoint(evidence(two).words)
    assert evidence(one).facts == evidence(two).facts is not None
    assert score(one, two)[0] == 0.0


def test_the_same_photo_on_another_host_shares_a_key() -> None:
    """A re-hosted photo (same path) meets the original even with another description."""
    other = _row("b" * 64, image_url="https://cdn.elsewhere.example.org/p/1.jpg", description="")
    assert _shares_a_key(_row(), other)
    assert not _shares_a_key(_row(), {**other, "make": "Ford"})  # the make veto


def test_no_description_and_no_photo_means_no_key() -> None:
    """Nothing could link such a record (the scorer needs one of them), so it is not indexed."""
    assert evidence(from_row(_row(description=None, image_url=None))).ids == []


@given(st.permutations(["numbers", "matching", "frame", "off", "restoration", "red", "454"]))
def test_keys_ignore_word_order_and_the_car_s_name(words: list[str]) -> None:
    """The keys are of the word set, without the make's and model's words."""
    named = from_row(_row(description=" ".join(["chevrolet", "chevelle", "ss", *words])))
    assert evidence(named).words == evidence(from_row(_row(description=" ".join(words)))).words


def _templated(miles: int, condition: str) -> str:
    return f"1970 Chevrolet Chevelle SS, {condition} condition, {miles}k miles, numbers matching."


def _template_chunk() -> tuple[Rarity, list[Any]]:
    """A chunk of 400 listings filled into one dealer template (miles and condition vary)."""
    rows = [
        _row(f"{i:064x}", description=_templated(5 + i % 190, ("fair", "good")[i % 2]))
        for i in range(400)
    ]
    keys = [from_row(row) for row in rows]
    return Rarity.of([description_words(key) for key in keys]), keys


def test_template_words_are_never_keys_and_weigh_little() -> None:
    """In a chunk sharing a template, the keys are the facts and template words weigh least."""
    rarity, keys = _template_chunk()
    assert rarity.common("condition")
    assert rarity.common("matching")
    assert rarity.rarest(description_words(keys[0])) == ["5k"]  # every car here is a 1970
    assert rarity.weight("condition") < rarity.weight("fair") < rarity.weight("5k")


def test_weighted_descriptions_tell_a_copy_from_another_car_of_the_template() -> None:
    """A copy (a typo) passes the gate; the same template's other car does not."""
    rarity, keys = _template_chunk()
    original = description_words(keys[0])
    copy = description_words(from_row(_row(description=_templated(5, "fiar"))))
    other = description_words(keys[2])  # 7k miles, fair
    assert description_similarity(original, copy, rarity) >= IDENTIFYING["description"]
    assert description_similarity(original, other, rarity) < IDENTIFYING["description"]


def test_a_small_chunk_weighs_its_words_about_alike() -> None:
    """Without evidence of rarity (a handful of listings), no word is template text."""
    rarity = Rarity.of([frozenset({"condition", "fair", "5k"})] * 5)
    assert not rarity.common("condition")
    assert rarity.rarest(["condition", "fair", "5k", "1970"], 2) == ["1970", "5k"]


def test_vehicle_id_is_the_hash_s_first_64_bits() -> None:
    """Signed, like PostgreSQL's bigint (the index's generated column computes the same)."""
    assert vehicle_id("0" * 64) == 0
    assert vehicle_id("f" * 64) == -1
    assert vehicle_id("7fffffffffffffff" + "0" * 48) == 2**63 - 1


def test_lock_ids_are_sorted_and_bounded() -> None:
    """Advisory lock ids are sorted, unique and at most LOCK_STRIPES per chunk."""
    ids = lock_ids(key_id(f"k{i}") for i in range(5000))
    assert ids == sorted(set(ids))
    assert len(ids) <= LOCK_STRIPES


def test_clusters_do_not_depend_on_order() -> None:
    """The same records in another order give the same clusters (the canonical may differ)."""
    rows = [_row(), _row(**SAME_CAR_ELSEWHERE), _row("c" * 64, location_city="Denver",
            location_state="CO", image_url=None, description="Blue, automatic")]  # fmt: skip

    def groups(order: list[dict[str, Any]]) -> set[frozenset[str]]:
        canonical = cluster(order)
        found: dict[str, set[str]] = {}
        for data_hash, head in canonical.items():
            found.setdefault(head, set()).add(data_hash)
        return {frozenset(members) for members in found.values()}

    assert (
        groups(rows)
        == groups(rows[::-1])
        == {
            frozenset({"a" * 64, "b" * 64}),
            frozenset({"c" * 64}),
        }
    )


def _year_prices(*owners: tuple[str, float], sampled: bool = False) -> YearPrices:
    entry = YearPrices(sampled=sampled)
    for data_hash, price in owners:
        entry.add(data_hash, price)
    return entry


def test_market_context_counts_comparables_within_two_years() -> None:
    """Median, percentile and count use same make/model within two years, never the record."""
    key = from_row(_row())
    market = {
        ("chevrolet", "chevelle", 1968): _year_prices(("1" * 64, 40000.0)),
        ("chevrolet", "chevelle", 1970): _year_prices(
            ("2" * 64, 50000.0), (key.data_hash, 45000.0)
        ),
        ("chevrolet", "chevelle", 1972): _year_prices(("3" * 64, 60000.0)),
        ("chevrolet", "chevelle", 1975): _year_prices(("4" * 64, 10.0)),
    }
    context = market_context(key, Market(market))
    assert (context["comparables"], context["median"], context["percentile"]) == (3, 50000.0, 33.3)
    assert context["source"] == "processor_known_vehicles"
    assert context["sampled"] is False


def test_market_reads_the_years_around_each_record() -> None:
    """The entries read for a chunk: each record's make/model for its year +/- 2, once."""
    keys = [from_row(_row()), from_row(_row())._replace(year=1966)]
    assert year_keys(keys) == [("chevrolet", "chevelle", year) for year in range(1964, 1973)]


def test_market_cache_counts_listings_stored_after_it_was_read() -> None:
    """A listing stored by this processor joins the cached year at once, and only once."""
    cache = MarketCache()
    key = from_row(_row())
    cache.entries[("chevrolet", "chevelle", 1970)] = _year_prices(("2" * 64, 50000.0))
    cache.remember([key, key])
    entry = cache.entries[("chevrolet", "chevelle", 1970)]
    assert entry.prices == [45000.0, 50000.0]
    assert set(entry.owners) == {vehicle_id("2" * 64), vehicle_id(key.data_hash)}


def test_a_cached_year_stops_growing_at_its_sample_size_and_says_so() -> None:
    """Listings stored after a year holds ``sample`` prices are not counted; it is sampled."""
    cache = MarketCache(sample=2)
    cache.entries[("chevrolet", "chevelle", 1970)] = YearPrices(limit=2)
    keys = [from_row(_row())._replace(data_hash=f"{n}" * 64, price=1000.0 * n) for n in (3, 1, 2)]
    cache.remember(keys)
    entry = cache.entries[("chevrolet", "chevelle", 1970)]
    assert (entry.prices, entry.sampled) == ([1000.0, 3000.0], True)
    assert set(entry.owners) == {vehicle_id("3" * 64), vehicle_id("1" * 64)}


def test_a_merged_window_is_kept_between_chunks_until_one_of_its_years_changes() -> None:
    """The next chunk reuses the merged prices; a listing stored in one year remerges them."""
    key = from_row(_row())
    year = _year_prices(("2" * 64, 50000.0))
    entries = {("chevrolet", "chevelle", 1970): year}
    windows: dict[Any, Any] = {}
    first = Market(entries, windows).window(key)[0]
    assert Market(entries, windows).window(key)[0] is first
    year.add("3" * 64, 40000.0)
    assert Market(entries, windows).window(key)[0] == [40000.0, 50000.0]
    assert first == [50000.0]


WORDS = ("red", "chevelle", "ss", "numbers", "matching", "454", "frame", "off", "a", "zz")


@given(st.lists(st.sampled_from(WORDS), max_size=12), st.lists(st.sampled_from(WORDS), max_size=12))
def test_sorted_words_ratio_is_token_sort_ratio(left: list[str], right: list[str]) -> None:
    """The evidence gate compares pre-sorted words with ratio: the same as token_sort_ratio."""
    a, b = " ".join(left), " ".join(right)
    assert fuzz.ratio(sorted_words(a), sorted_words(b)) == pytest.approx(
        fuzz.token_sort_ratio(a, b)
    )


def test_the_key_keeps_the_description_s_words_sorted() -> None:
    """The gate compares sorted words with ratio (token_sort_ratio without re-sorting)."""
    key = from_row(_row(description="Red  Chevelle SS, numbers matching"))
    assert key.description == "chevelle matching numbers red ss"
    assert description_length(key) == len(key.description)


_PHOTOS = st.sampled_from([None, "https://img.a.example.com/p/1.jpg", "https://b.example/q/2.jpg"])
_PLACES = st.sampled_from([("Tulsa", "OK"), ("Tulsa", None), (None, "OK"), (None, None)])
_THRESHOLDS = st.sampled_from([LINK_THRESHOLD, 60.0, 75.0, 90.0, 97.0])


@given(
    st.floats(1_000, 500_000),
    st.floats(0.9, 1.1),  # the other price, as a share of the first
    _PHOTOS,
    _PHOTOS,
    _PLACES,
    st.sampled_from(["Chevelle SS", "Chevele SS", "Malibu"]),
    st.integers(1969, 1971),
    _THRESHOLDS,
)
def test_the_price_bound_keeps_every_pair_the_scorer_links(
    price: float,
    ratio: float,
    photo: str | None,
    other_photo: str | None,
    place: tuple[str | None, str | None],
    model: str,
    year: int,
    threshold: float,
) -> None:
    """A band probe skips only prices that could not make up the threshold with the rest."""
    city, state = place
    one = from_row(_row(price=price, image_url=photo, location_city=city, location_state=state))
    other = from_row(
        _row(
            "b" * 64, price=price * ratio, image_url=other_photo, model=model, year=year,
            location_city=city, location_state=state, source_name="site-b",
        )
    )  # fmt: skip
    value, _ = score(one, other)
    same_photo = (
        bool(photo and other_photo) and photo.split("/", 3)[3] == other_photo.split("/", 3)[3]
    )
    if value >= threshold and not same_photo:  # a shared photo is the photo probe's to find
        # Photos on different hosts are left out of the score: the probes bound without them.
        low, high = price_range(one, threshold, photos=False)
        assert low <= other.price <= high


def test_the_price_bound_narrows_with_a_photo_on_both_sides() -> None:
    """Different photos score 0, so only a close price can still reach the threshold."""
    key = from_row(_row(price=50_000))
    low, high = price_range(key, LINK_THRESHOLD, photos=True)
    assert 47_000 < low < 48_500  # about 4 % either way
    assert 51_500 < high < 53_500
    assert price_range(key, LINK_THRESHOLD, photos=False) == ANY_PRICE
    assert price_range(key, 99.5, photos=True)[0] > price_range(key, 99.5, photos=True)[1]


def test_a_missing_price_is_unknown_not_zero_when_scoring() -> None:
    """Without a price on either side the pair is scored on the other fields, not as a 100 % gap."""
    priced, unpriced = from_row(_row()), from_row(_row(**{**SAME_CAR_ELSEWHERE, "price": None}))
    assert not unpriced.has_price
    value, fields = score(priced, unpriced)
    assert value >= LINK_THRESHOLD
    assert "price" not in fields
    far = from_row(_row(**{**SAME_CAR_ELSEWHERE, "price": "4500000"}))
    assert score(priced, unpriced)[0] > score(priced, far)[0]


def test_a_listing_without_a_price_probes_every_price() -> None:
    """Its price cannot narrow the candidates: the band is any price."""
    unpriced = from_row(_row(price=None))
    assert price_range(unpriced, LINK_THRESHOLD, photos=True) == ANY_PRICE
    assert price_range(unpriced, LINK_THRESHOLD, photos=False) == ANY_PRICE


def test_market_context_without_a_price_counts_but_does_not_place_it() -> None:
    """A price-less listing gets the comparables' median and no percentile; it is no comparable."""
    key = from_row(_row(price=None))
    entry = _year_prices(("2" * 64, 50000.0))
    cache = MarketCache()
    cache.entries[("chevrolet", "chevelle", 1970)] = entry
    cache.remember([key])
    assert entry.prices == [50000.0]
    context = market_context(key, Market({("chevrolet", "chevelle", 1970): entry}))
    assert (context["comparables"], context["median"]) == (1, 50000.0)
    assert "percentile" not in context


def test_a_copy_with_its_own_photo_on_its_own_host_still_links() -> None:
    """Each site hosts its own copy of the photos: another path on another host says nothing."""
    rehosted = _row(**{**SAME_CAR_ELSEWHERE, "image_url": "https://cdn.site-b.example.net/x/9.jpg"})
    value, fields = score(from_row(_row()), from_row(rehosted))
    assert value >= LINK_THRESHOLD
    assert "image" not in fields
    scores = field_scores(from_row(_row()), from_row(rehosted))
    assert scores is not None
    assert "image" not in scores


def test_another_photo_on_the_same_host_counts_against() -> None:
    """The same host serving another photo is another car's photo: the image scores 0."""
    other = _row(**{**SAME_CAR_ELSEWHERE, "image_url": "https://img.site-a.example.com/p/2.jpg"})
    scores = field_scores(from_row(_row()), from_row(other))
    assert scores is not None
    assert scores["image"] == 0.0
