"""Score a candidate pair of vehicles 0..100 over several fields, with vetoes.

Fields and weights: model text (30), year (10), price proximity (15), location (15),
description (15), image (15). A field missing on either side (a price too: unknown is not zero)
is left out and the weights of the others are scaled up; so is the image when the two photos are
on different hosts under different paths (sites rehost their copies: that says nothing). The
description is compared word by word, each word weighted by its rarity in the chunk
(``rarity.Rarity``): template text weighs little, the facts filled into it much.
Vetoes (no link at any score): different makes, years more than one apart, different cities or
states (unless the image is the same), two listings of the same site with different pages and
different images (a dealer's two cars; not when the photos are on two hosts), and pairs with no
identifying evidence: make, model, year, price and city alone describe many cars, so a link also
needs the description or the image to match, or the facts a copy keeps all to agree (``FACTS``:
the same year and place, the price within ``FACT_PRICE``, the model, and most of the
description's facts).
"""

from __future__ import annotations

import math
import re
from collections.abc import Collection, Sequence

from rapidfuzz import fuzz

from .keys import VehicleKey, description_words
from .rarity import UNIFORM, Rarity, Weights, typo_of

Weigher = Rarity | Weights

LINK_THRESHOLD = 82.0
FIELD_MATCH = 80.0  # a field scoring at least this is listed in ``match_fields``
IDENTIFYING = {"description": 85.0, "image": 90.0}  # one of these must match for a link ...
FACT_PRICE = 0.06  # ... or all of FACTS: the prices at most this far apart (relative gap)
FACTS = {"year": 100.0, "location": 90.0, "description": 65.0, "model": 80.0}
"""The facts a copy keeps that carry a link between two described listings without the photo or
a description matching on its own: the same year and place, a model that is the same or mistyped,
the price within ``FACT_PRICE``, and descriptions that share most of their facts (a copy re-worded
by another site, a dealer phrase added or dropped). A look-alike (another car of the model, the
year and the town, filled into the same template) differs in its mileage or condition."""
PRICE_TOLERANCE = 0.20  # relative price gap at which the price score reaches 0
TYPO_WORDS = 3  # words left over on each side that are tried as typos of one another
WEIGHTS = {"model": 30, "year": 10, "price": 15, "location": 15, "description": 15, "image": 15}


_DIGITS = re.compile(r"\d+")


def _image_path(image_url: str) -> str:
    return image_url.partition("/")[2]


def _image_score(a: VehicleKey, b: VehicleKey) -> float | None:
    if not (a.image_url and b.image_url):
        return None
    if a.image_url == b.image_url:
        return 100.0
    # The same path on another host is the photo re-hosted; a generic file name alone is not.
    host_a, _, path_a = a.image_url.partition("/")
    host_b, _, path_b = b.image_url.partition("/")
    if path_a == path_b:
        return 90.0
    # Another photo on the same host is another car; on another host, the site's own copy.
    return 0.0 if host_a == host_b else None


def description_similarity(
    a: frozenset[str], b: frozenset[str], rarity: Weigher = UNIFORM, other: Weigher | None = None
) -> float | None:
    """Return 0..100: how much of the descriptions' rarity-weighted words the other side holds.

    The mean of two weighted shares of the words found on both sides: of both descriptions' words
    (Dice), and of the lighter description's (overlap), so a copy that drops or adds a clause
    still scores high while one differing in its facts (a mileage, a condition) does not. A word
    only one side holds is tried against the other side's leftovers as a typo
    (``rarity.typo_of``), so one mistyped word costs nothing. None when either side has no words.
    ``a``'s words are weighed by ``rarity``, ``b``'s by ``other`` (default: ``rarity``): each
    side's own, so the score is the same whichever side is linked first.
    """
    if not a or not b:
        return None
    other = rarity if other is None else other
    return _similarity(a, rarity.mass(a), rarity, b, other.mass(b), other)


def _similarity(
    a: frozenset[str],
    mass_a: float,
    rarity: Weigher,
    b: Collection[str],
    mass_b: float,
    other: Weigher,
) -> float:
    """Return ``description_similarity`` of non-empty ``a`` and ``b`` given their masses.

    ``b`` is any collection of distinct words (a known listing's ``Weights``: its keys); the
    masses are each side's total weight, computed once per record and once per known listing.
    """
    both = a.intersection(b)
    found_a, found_b = rarity.mass(both), other.mass(both)
    shared = len(both)  # both sides' words are distinct: each side's leftovers are its size - this
    if shared < len(a) <= shared + TYPO_WORDS and shared < len(b) <= shared + TYPO_WORDS:
        only_a, only_b = sorted(a - both), sorted(word for word in b if word not in both)
        typed_a, typed_b = _typos(only_a, only_b)
        found_a += rarity.mass(typed_a)
        found_b += other.mass(typed_b)
    dice = (found_a + found_b) / (mass_a + mass_b)
    share_a, share_b = found_a / mass_a, found_b / mass_b
    overlap = share_a if mass_a < mass_b else share_b if mass_b < mass_a else max(share_a, share_b)
    return 50.0 * (dice + overlap)


def _typos(only_a: list[str], only_b: list[str]) -> tuple[list[str], list[str]]:
    """Return the words of each side paired as typos of one another (the same pairs either way)."""
    swapped = only_b < only_a  # pair from the same side whichever side is the record
    first, second = (only_b, list(only_a)) if swapped else (only_a, list(only_b))
    paired_first: list[str] = []
    paired_second: list[str] = []
    for word in first:
        for typed in second:
            if typo_of(word, typed):
                paired_first.append(word)
                paired_second.append(typed)
                second.remove(typed)
                break
    return (paired_second, paired_first) if swapped else (paired_first, paired_second)


def _location_score(a: VehicleKey, b: VehicleKey) -> float | None:
    if a.city and b.city:
        city = fuzz.ratio(a.city, b.city)
        return city if not (a.state and b.state and a.state != b.state) else 0.0
    if a.state and b.state:
        return 100.0 if a.state == b.state else 0.0
    return None


def _price_score(a: VehicleKey, b: VehicleKey) -> float | None:
    if not (a.has_price and b.has_price):
        return None  # unknown is not zero: the price is left out of the pair
    high = max(a.price, b.price)
    gap = abs(a.price - b.price) / high if high > 0 else 0.0
    return max(0.0, 100.0 * (1.0 - gap / PRICE_TOLERANCE))


def _vetoed(a: VehicleKey, b: VehicleKey, image: float | None, location: float | None) -> bool:
    if a.make != b.make or abs(a.year - b.year) > 1:
        return True
    same_image = image is not None and image >= FIELD_MATCH
    if location is not None and location < FIELD_MATCH and not same_image:
        return True
    same_site = a.source == b.source and a.source_url and b.source_url
    # Photos on two hosts are copies the site took from elsewhere: they do not tell two cars apart.
    rehosted = image is None and a.image_url and b.image_url
    return bool(same_site and a.source_url != b.source_url and not same_image and not rehosted)


def _prices_near(a: VehicleKey, b: VehicleKey) -> bool:
    """Return whether both have a price, at most ``FACT_PRICE`` apart (relative to the higher)."""
    if not (a.has_price and b.has_price):
        return False
    return abs(a.price - b.price) <= FACT_PRICE * max(a.price, b.price)


def _identified(a: VehicleKey, b: VehicleKey, scores: dict[str, float]) -> bool:
    """Return whether the pair has the identifying evidence a link needs.

    The photo or the description on its own (``IDENTIFYING``), or the facts together (``FACTS``,
    the prices within ``FACT_PRICE``, the same figures in both descriptions). Descriptions whose
    figures contradict (each holds one the other lacks: 57k miles and 98k) are not evidence of
    one car however alike their words: a dealer's template filled for two cars differs in little
    else, and a small file cannot tell its template words from facts by their frequency.
    """
    if scores.get("image", 0.0) >= IDENTIFYING["image"]:
        return True
    named = _model_figures(a) | _model_figures(b)  # the car's name, as either side spells it
    mine = figures(description_words(a)) - named
    theirs = figures(description_words(b)) - named
    if scores.get("description", 0.0) >= IDENTIFYING["description"]:
        return mine <= theirs or theirs <= mine  # each holding a figure the other lacks: two cars
    return (
        mine == theirs
        and _prices_near(a, b)
        and all(scores.get(field, 0.0) >= bar for field, bar in FACTS.items())
    )


def figures(found: frozenset[str]) -> frozenset[str]:
    """Return the words holding a digit: a description's figures (a mileage, a year, an engine).

    Thousands are written either way (``149k`` or ``149,000``, whose words are ``149`` and
    ``000``): both give ``149``, so a site that reformats a mileage does not contradict it.
    """
    return frozenset(
        word.removesuffix("k")
        for word in found
        if word != "000" and any(char.isdigit() for char in word)
    )


def _model_figures(key: VehicleKey) -> frozenset[str]:
    """Return the figures in a listing's model (``SS 454``, or a site's ``SS454``: ``454``).

    A description's words leave out the model's own words, but only as this listing spells
    them: a copy that writes ``SS454`` keeps ``454`` in its words where the original, with
    ``SS 454``, does not. A figure that names the car is no fact telling two listings apart.
    """
    return frozenset(_DIGITS.findall(key.model))


def _may_rest_on_facts(a: VehicleKey, b: VehicleKey) -> bool:
    """Return whether a pair passes the facts of ``FACTS`` checked before the description."""
    if a.year != b.year or not _prices_near(a, b):
        return False
    location = _location_score(a, b)
    return location is not None and location >= FACTS["location"]


def field_scores(
    a: VehicleKey, b: VehicleKey, rarity: Weigher = UNIFORM, other: Weigher | None = None
) -> dict[str, float] | None:
    """Return each comparable field's 0..100 score, or None when a veto applies."""
    image, location = _image_score(a, b), _location_score(a, b)
    if _vetoed(a, b, image, location):
        return None
    scores: dict[str, float | None] = {
        "model": fuzz.token_set_ratio(a.model, b.model),
        "year": 100.0 if a.year == b.year else 60.0,
        "price": _price_score(a, b),
        "location": location,
        "description": description_similarity(
            description_words(a), description_words(b), rarity, other
        ),
        "image": image,
    }
    return {name: value for name, value in scores.items() if value is not None}


def score(
    a: VehicleKey, b: VehicleKey, rarity: Weigher = UNIFORM, other: Weigher | None = None
) -> tuple[float, list[str]]:
    """Return the pair's 0..100 score and the fields that matched (0 and [] when vetoed).

    ``rarity`` weighs ``a``'s description words, ``other`` ``b``'s (default: ``rarity``).
    """
    scores = field_scores(a, b, rarity, other)
    if scores is None or not _identified(a, b, scores):
        return 0.0, []
    total = sum(WEIGHTS[name] for name in scores)
    value = sum(WEIGHTS[name] * scores[name] for name in scores) / total
    matched = sorted(name for name, field_score in scores.items() if field_score >= FIELD_MATCH)
    return round(value, 2), matched


def with_evidence(
    key: VehicleKey,
    others: Sequence[VehicleKey],
    rarity: Rarity = UNIFORM,
    mine: frozenset[str] | None = None,
    weights: Sequence[Weights] | None = None,
) -> list[int]:
    """Return the indexes of ``others`` that share identifying evidence with ``key``.

    The same gate as ``score`` (the photo's path, or a description scoring at least
    ``IDENTIFYING["description"]``, or ``FACTS["description"]`` when the year, the place and the
    price agree), checked before the fields are scored one by one. ``mine``
    is the record's description words (``keys.description_words``) when the caller has them;
    ``weights`` are the others' own word weights, whose keys are their words (default: their
    words weighed by ``rarity``).
    """
    found: list[int] = []
    suffix = "/" + _image_path(key.image_url) if key.image_url else ""
    if mine is None:
        mine = description_words(key)
    if weights is None:
        weights = [rarity.of_words(description_words(other)) for other in others]
    gate = IDENTIFYING["description"]
    mass = rarity.mass(mine)  # the record's side of every pair
    for index, (other, theirs) in enumerate(zip(others, weights, strict=True)):
        # A cheap superset of "same path" (the host holds no "/"); ``score`` decides exactly.
        if suffix and other.image_url.endswith(suffix):
            found.append(index)
            continue
        if not mine or not theirs:
            continue  # no description on one side: no description evidence
        if mine.isdisjoint(theirs) and max(len(mine), len(theirs)) > TYPO_WORDS:
            continue  # no word in common and too many to be typos of each other: 0
        bar = FACTS["description"] if _may_rest_on_facts(key, other) else gate
        if _similarity(mine, mass, rarity, theirs, theirs.total, theirs) >= bar:
            found.append(index)
    return found


ANY_PRICE = (-math.inf, math.inf)
NO_PRICE = (math.inf, -math.inf)  # an empty range


def fact_prices(key: VehicleKey) -> tuple[float, float]:
    """Return the prices a candidate can have and still link on the facts (``FACT_PRICE``)."""
    if not key.has_price or key.price <= 0:
        return NO_PRICE
    keep = 1.0 - FACT_PRICE
    slack = 1e-9 * key.price  # float rounding at the edges
    return key.price * keep - slack, key.price / keep + slack


def price_range(key: VehicleKey, threshold: float, *, photos: bool) -> tuple[float, float]:
    """Return the prices a candidate sharing only the description can have and still link.

    A word's candidate whose photo matches the record's is also found by the photo probe, so
    here the image scores 0 when both sides have a photo on the same host (``photos``), and is
    left out otherwise (either has none, or the photos are on different hosts). Every other field
    is taken at its best (100, the location counted when the record has one: a field at 100 only
    raises the score), so the price score alone must make up the rest of ``threshold``: the
    candidate's price must lie within the gap that gives that
    price score. ``ANY_PRICE`` when the other fields reach the threshold on their own, and for
    a record without a price (the price is then left out of every pair). A candidate without a
    price is outside every band: the probes read those apart (``store.candidates``).
    """
    if not key.has_price:
        return ANY_PRICE
    fields = ["model", "year", "price", "description"]
    if key.city or key.state:
        fields.append("location")
    if photos:
        fields.append("image")
    total = sum(WEIGHTS[name] for name in fields)
    best_without_price = 100.0 * (total - WEIGHTS["price"] - (WEIGHTS["image"] if photos else 0))
    # ``score`` rounds to two decimals before comparing: a hundredth of slack keeps that pair.
    needed = ((threshold - 0.01) * total - best_without_price) / WEIGHTS["price"]
    if needed <= 0 or key.price <= 0:
        return ANY_PRICE
    if needed > 100:  # even the same price cannot link
        return NO_PRICE
    keep = 1.0 - PRICE_TOLERANCE * (1.0 - needed / 100.0)  # lowest min/max price ratio
    slack = 1e-9 * key.price  # float rounding at the edges
    return key.price * keep - slack, key.price / keep + slack
