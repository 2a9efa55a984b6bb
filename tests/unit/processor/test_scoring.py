"""Pair scoring field by field: the photo, the place, the year, the price, and the price bands."""

from __future__ import annotations

import pytest

from services.processor.dedup.keys import VehicleKey, description_words
from services.processor.dedup.rarity import UNIFORM, Weights
from services.processor.dedup.scoring import (
    ANY_PRICE,
    LINK_THRESHOLD,
    NO_PRICE,
    description_similarity,
    field_scores,
    figures,
    price_range,
    score,
    with_evidence,
)

DESCRIPTION = "1970 chevelle ss 454 numbers matching fresh paint restored black interior"


def key(**changes: object) -> VehicleKey:
    """Return a listing's key (changed where given)."""
    base = VehicleKey(
        data_hash="a" * 64,
        make="chevrolet",
        model="chevelle ss",
        year=1970,
        price=50000.0,
        city="tulsa",
        state="ok",
        description=" ".join(sorted(DESCRIPTION.split())),
        image_url="img.site-a.example.com/p/1.jpg",
        source="site-a",
        source_url="site-a.example.com/l/1",
        stock="A-1",
    )
    return base._replace(**changes)  # type: ignore[arg-type]


def test_the_same_photo_scores_100_its_path_on_another_host_90() -> None:
    """A photo URL equal scores 100; the same path re-hosted 90; a photo on one side only: out."""
    other = key(data_hash="b" * 64, source="site-b", source_url="site-b.example.com/l/9")
    assert field_scores(key(), other)["image"] == 100.0  # type: ignore[index]
    moved = other._replace(image_url="cdn.example.net/p/1.jpg")
    assert field_scores(key(), moved)["image"] == 90.0  # type: ignore[index]
    assert "image" not in field_scores(key(), other._replace(image_url=""))  # type: ignore[operator]


def test_a_photo_found_by_its_path_not_by_its_file_name() -> None:
    """The photo probe matches the whole path after the host, not a shared file name."""
    others = [
        key(data_hash="b" * 64, image_url="cdn.example.net/p/1.jpg", description="x"),
        key(data_hash="c" * 64, image_url="cdn.example.net/q/1.jpg", description="y"),
    ]
    assert with_evidence(key(), others) == [0]


def test_a_state_without_a_city_counts_and_one_city_missing_is_no_veto() -> None:
    """Two states alone compare as equal (100) or not (0: a veto without the same photo); a
    missing city is no veto."""
    no_city = key(data_hash="b" * 64, city="")
    assert field_scores(no_city, no_city._replace(data_hash="c" * 64))["location"] == 100.0  # type: ignore[index]
    elsewhere = key(data_hash="b" * 64, city="", state="tx", image_url="")
    assert field_scores(key(city=""), elsewhere) is None
    assert field_scores(key(), no_city)["location"] == 100.0  # type: ignore[index]


def test_a_listing_without_a_place_leaves_the_location_out() -> None:
    """No city and no state on one side: the location is not compared (no veto, no score)."""
    nowhere = key(data_hash="b" * 64, city="", state="", image_url="")
    scores = field_scores(key(), nowhere)
    assert scores is not None
    assert "location" not in scores


def test_a_year_apart_scores_60_and_is_no_veto() -> None:
    """Model years one apart (listings disagree) score 60; two apart are two cars."""
    scores = field_scores(key(), key(data_hash="b" * 64, year=1971))
    assert scores is not None
    assert scores["year"] == 60.0
    assert field_scores(key(), key(data_hash="b" * 64, year=1972)) is None


def test_the_price_score_falls_to_zero_at_a_fifth_apart() -> None:
    """10 % apart scores 50; two free listings (price 0) score 100."""
    assert field_scores(key(), key(price=45000.0))["price"] == pytest.approx(50.0)  # type: ignore[index]
    assert field_scores(key(price=0.0), key(price=0.0))["price"] == 100.0  # type: ignore[index]
    assert field_scores(key(), key(price=30000.0))["price"] == 0.0  # type: ignore[index]


def test_two_pages_of_one_site_with_rehosted_photos_are_not_vetoed() -> None:
    """Photos on two hosts under two paths say nothing: the site's two pages may be one car."""
    other = key(data_hash="b" * 64, source_url="site-a.example.com/l/2", image_url="x.net/q/7.jpg")
    assert field_scores(key(), other) is not None
    same_host = other._replace(image_url="img.site-a.example.com/q/7.jpg")
    assert field_scores(key(), same_host) is None  # a dealer's two cars


def test_the_score_is_rounded_to_hundredths() -> None:
    """The pair's score has two decimals."""
    value, fields = score(key(), key(data_hash="b" * 64, price=48123.0, model="chevele ss"))
    assert value == round(value, 2)
    assert value != round(value, 1)
    assert fields == ["description", "image", "location", "model", "price", "year"]


def test_an_empty_description_has_no_similarity() -> None:
    """One side without words: the description is left out, not scored 0."""
    assert description_similarity(frozenset(), frozenset({"clean"})) is None
    assert description_similarity(frozenset({"clean"}), frozenset()) is None


def test_price_bands_are_exact() -> None:
    """The band a description-only candidate's price must fall in, with and without photos."""
    lo, hi = price_range(key(price=10000.0), 82.0, photos=True)
    needed = (81.99 * 100 - 7000.0) / 15
    keep = 1.0 - 0.2 * (1.0 - needed / 100.0)
    assert lo == pytest.approx(10000.0 * keep - 1e-5, rel=1e-13)
    assert hi == pytest.approx(10000.0 / keep + 1e-5, rel=1e-13)
    # A place of one part (a city without a state) still counts for the location.
    no_state = price_range(key(price=10000.0, state=""), 82.0, photos=False)
    nowhere = price_range(key(price=10000.0, state="", city=""), 82.0, photos=False)
    assert no_state == ANY_PRICE
    assert nowhere != ANY_PRICE
    assert price_range(key(price=0.0), 82.0, photos=True) == ANY_PRICE
    assert price_range(key(price=10000.0), 100.0, photos=True) == NO_PRICE


def test_every_candidate_is_looked_at_whatever_comes_before_it() -> None:
    """A photo match, a candidate without words or with none in common does not end the scan."""
    copy = key(data_hash="z" * 64, image_url="")  # the same description, no photo
    before = [
        key(data_hash="b" * 64, image_url="cdn.example.net/p/1.jpg"),  # the same photo's path
        key(data_hash="c" * 64, image_url="", description=""),  # no words
        key(data_hash="d" * 64, image_url="", description="alpha beta delta gamma omega"),
    ]
    assert with_evidence(key(), [*before, copy]) == [0, 3]


def test_each_side_is_weighed_by_its_own_weights_typos_included() -> None:
    """With skewed weights, each description's words (a mistyped word with its own weight too)
    count as that side weighs them, and swapping the sides gives the same similarity."""
    mine = frozenset({"frame", "numbers", "matching", "restored", "crimson"})
    theirs = frozenset({"frame", "numbers", "matching", "restord", "azure"})
    my_weights = Weights(frame=0.5, numbers=1.0, matching=1.0, restored=5.0, crimson=2.0)
    their_weights = Weights(frame=0.8, numbers=1.5, matching=0.7, restord=3.0, azure=1.0)
    # Found: 2.5 shared + 5.0 typo of 9.5 on my side, 3.0 + 3.0 of 7.0 on theirs.
    dice, overlap = (7.5 + 6.0) / (9.5 + 7.0), 6.0 / 7.0  # overlap: the lighter side's share
    expected = 50.0 * (dice + overlap)
    assert description_similarity(mine, theirs, my_weights, their_weights) == pytest.approx(
        expected
    )
    assert description_similarity(theirs, mine, their_weights, my_weights) == pytest.approx(
        expected
    )
    # Weighed by one side's weights only, the figure is another one.
    assert description_similarity(mine, theirs, my_weights) != pytest.approx(expected)


def test_the_same_photo_identifies_a_copy_whatever_its_description() -> None:
    """A copy with the photo and another site's own text links on the photo alone."""
    copy = key(
        data_hash="b" * 64, source="site-b", source_url="site-b.example.com/l/9",
        description="call today ask for dave financing available trades welcome",
    )  # fmt: skip
    value, fields = score(key(), copy)
    assert value >= LINK_THRESHOLD
    assert "image" in fields
    assert "description" not in fields


def test_facts_without_a_description_on_one_side_are_no_evidence() -> None:
    """The same year, place and price carry no link when one side has no description and
    there is no photo to compare (nothing identifies the car); the pair is scored, not refused."""
    mine = key(image_url="", price=50000.0, description="frame off restoration numbers matching")
    bare = key(data_hash="b" * 64, source="site-b", source_url="site-b.example.com/l/9",
               image_url="", description="", price=50500.0)  # fmt: skip
    assert "description" not in field_scores(mine, bare)  # type: ignore[operator]
    assert score(mine, bare) == (0.0, [])
    assert score(bare, mine) == (0.0, [])


def test_the_score_weighs_the_other_side_by_its_own_weights() -> None:
    """``score`` hands the other side's weights to the description: with four heavy shared
    facts and a light word of its own, a copy's description identifies it. Weighed alike it
    scores exactly 80: a matched field (beside the photo) but no evidence on its own."""
    mine = key(
        image_url="", price=45000.0, description="frame matching numbers restoration sunroof"
    )
    theirs = key(
        data_hash="b" * 64, source="site-b", source_url="site-b.example.com/l/9", image_url="",
        description="frame matching numbers restoration xenon",
    )  # fmt: skip
    alike = field_scores(mine, theirs)
    assert alike is not None
    assert alike["description"] == pytest.approx(80.0)
    assert score(mine, theirs) == (0.0, [])
    photo = "img.site-a.example.com/p/1.jpg"
    with_photos = score(mine._replace(image_url=photo), theirs._replace(image_url=photo))
    assert "description" in with_photos[1]
    heavy = Weights((word, 0.1 if word == "xenon" else 5.0) for word in description_words(theirs))
    value, fields = score(mine, theirs, UNIFORM, heavy)
    assert value >= LINK_THRESHOLD
    assert "description" in fields


REWORDED = "restored numbers matching 454 black vinyl interior muncie 4 speed call us today trades"


@pytest.mark.parametrize(
    ("changes", "links"),
    [
        ({}, True),  # the facts all agree: a copy another site re-worded, without the photo
        ({"price": 53500.0}, False),  # 7 % apart: more than FACT_PRICE
        ({"price": 47100.0}, True),  # within 6 % of the higher price
        ({"price": 0.0}, False),  # no price on one side: the facts are not all there
        ({"year": 1971}, False),  # a year apart: not the same facts
        ({"city": "broken arrow"}, False),  # another town of the state
        ({"description": REWORDED.replace("454", "396")}, False),  # another engine figure
    ],
)
def test_a_reworded_copy_without_the_photo_links_on_agreeing_facts(
    changes: dict[str, object], links: bool
) -> None:
    """With neither the photo nor the description identifying it (the description scores
    between 65 and 85), a copy links only when year, place, model, figures and a price within
    6 % all agree."""
    original = key(
        image_url="", description="numbers matching 454 frame off restoration black vinyl "
        "interior muncie 4 speed",
    )  # fmt: skip
    copy = key(
        data_hash="b" * 64, source="site-b", source_url="site-b.example.com/l/9", image_url="",
        description=REWORDED, price=50000.0 * 1.02,
    )._replace(**changes)  # type: ignore[arg-type]  # fmt: skip
    scores = field_scores(original, copy)
    if scores is not None and "description" in scores:
        assert 65 <= scores["description"] < 85 or "description" in changes
    value, _fields = score(original, copy)
    assert (value >= LINK_THRESHOLD) is links
    assert (score(copy, original)[0] >= LINK_THRESHOLD) is links
    # The probe's gate lets the copy through to scoring when the facts may carry it, only then.
    assert (with_evidence(original, [copy]) == [0]) is links


def test_a_copy_that_drops_a_figure_still_links_on_its_description() -> None:
    """A copy that leaves out one of the original's figures (``4 speed``) contradicts nothing:
    its description identifies it, whichever side is the record."""
    text = "numbers matching 454 frame off restoration black vinyl interior muncie 4 speed"
    original = key(image_url="", description=text)
    shorter = key(
        data_hash="b" * 64, source="site-b", source_url="site-b.example.com/l/9", image_url="",
        description=text.replace(" 4 speed", " speed"),
    )  # fmt: skip
    assert score(original, shorter)[0] >= LINK_THRESHOLD
    assert score(shorter, original)[0] >= LINK_THRESHOLD


def test_typos_are_tried_only_among_up_to_three_leftover_words_a_side() -> None:
    """With three words left over on each side a typo among them counts as found (4 of 6 each:
    66.67); with four left on one side none is tried (3 of 7 and 3 of 4: 64.77)."""
    shared = "alpha bravo charlie"
    three = description_similarity(
        frozenset(f"{shared} restored sunroof xenon".split()),
        frozenset(f"{shared} restord tinted wheels".split()),
    )
    assert three == pytest.approx(100 * 4 / 6)
    four = description_similarity(
        frozenset(f"{shared} restored sunroof xenon lowered".split()),
        frozenset(f"{shared} restord".split()),
    )
    assert four == pytest.approx(50 * (6 / 11 + 3 / 4))


def test_a_mileage_written_either_way_is_one_figure() -> None:
    """``149k`` and ``149,000`` (words ``149`` and ``000``) are the same figure, so a site that
    reformats a mileage does not contradict the original; words without a digit are none."""
    assert figures(frozenset({"149k", "miles"})) == frozenset({"149"})
    assert figures(frozenset({"149", "000", "miles"})) == frozenset({"149"})
    assert figures(frozenset({"k5", "v8", "knock"})) == frozenset({"k5", "v8"})
