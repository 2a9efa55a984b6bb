"""What linking a vehicle chunk computes before it touches the database: keys and probes.

Pure computation, no database: the service runs it where a chunk is read (the reader process or
a worker thread), so it overlaps the previous chunk's queries. Nothing here imports asyncpg, so
the reader process does not load it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from shared.events import RecordType

from .keys import Evidence, VehicleKey, description_words, evidence, from_row
from .rarity import Rarity
from .scoring import ANY_PRICE, LINK_THRESHOLD, NO_PRICE, fact_prices, price_range

ANY_LENGTH = (0, 32767)  # a photo probe: the description's length does not matter


class Bounds(NamedTuple):
    """What a record's probes keep of a key's listings (shared by all its band probes).

    The years ``year`` - 1 to ``year`` + 1, description lengths within the length bounds, and
    prices within the first price bounds for listings with a photo, the second for those without
    (``scoring.price_range``), the nearest to ``price`` first.
    """

    year: int
    min_len: int
    max_len: int
    min_price: float  # candidates with a photo
    max_price: float
    bare_min_price: float  # candidates without a photo
    bare_max_price: float
    price: float  # the record's: the probes read the prices nearest it first


class Probes(NamedTuple):
    """A chunk's probes: key ids and, for each, the index of its bounds in ``bounds``.

    Bounds are sent once per record, not once per key: asyncpg checks every array element in
    Python, and a chunk has ~7,000 keys.
    """

    keys: list[int]
    bounds_of: list[int]
    bounds: list[Bounds]


class Prepared(NamedTuple):
    """What linking a vehicle chunk computes before it touches the database."""

    keys: list[VehicleKey]
    found: list[Evidence]
    probes: Probes
    of_record: list[range]  # where each record's probes are in ``probes``
    rarity: Rarity  # the chunk's word weights (``rarity``)
    words: list[frozenset[str]]  # each record's ``description_words``


@dataclass(frozen=True)
class KeyPreparer:
    """Computes a vehicle chunk's matching keys and probes: pure computation, no database.

    The service runs it where the chunk is read (the reader process or the worker thread), so it
    overlaps the previous chunk's queries; it is picklable for that.
    """

    threshold: float = LINK_THRESHOLD

    def __call__(self, record_type: RecordType, rows: Sequence[dict[str, Any]]) -> Prepared | None:
        """Return the chunk's keys, evidence and probes (None for other types or no rows)."""
        if record_type is not RecordType.VEHICLES or not rows:
            return None
        return prepare_vehicles(rows, self.threshold)


def prepare_vehicles(rows: Sequence[dict[str, Any]], threshold: float) -> Prepared:
    """Return the keys, evidence and probes of a chunk of processed vehicle rows.

    The chunk's new words are weighed by their rarity among the chunk's listings
    (``rarity.Rarity.of``): the blocking keys and the description scores use those weights.
    """
    keys = [from_row(row) for row in rows]
    words = [description_words(key) for key in keys]
    unique = {key.data_hash: found for key, found in zip(keys, words, strict=True)}
    rarity = Rarity.of(list(unique.values()))  # each distinct listing once
    found = [evidence(key, rarity) for key in keys]
    return Prepared(keys, found, *chunk_probes(keys, found, threshold), rarity, words)


def chunk_probes(
    keys: Sequence[VehicleKey], found: Sequence[Evidence], threshold: float
) -> tuple[Probes, list[range]]:
    """Return a chunk's probes and the range of each record's probes among them.

    A word is probed for listings with and without a photo that could still link through the
    description: a price that could make up the threshold (``scoring.price_range``; a photo on
    another host is left out of the score, so both kinds get the range without the image). The
    photo is probed for any price (the nearest to the record's first, as every probe). The bounds
    only skip candidates the scorer would refuse, so the links are the same with or without them.
    The facts key (make, place and year) is probed for the prices near the record's
    (``scoring.fact_prices``): a candidate further off cannot link on the facts, only through the
    description or the photo, whose own keys it is found by when it shares them.
    """
    probes = Probes([], [], [])
    photo_bounds: dict[tuple[int, float], int] = {}  # (year, price) -> its photo probes' bounds
    of_record: list[range] = []
    for key, item in zip(keys, found, strict=True):
        first = len(probes.keys)
        if item.words:
            bare = price_range(key, threshold, photos=False)
            probes.bounds.append(Bounds(key.year, *ANY_LENGTH, *bare, *bare, key.price))
            probes.keys.extend(item.words)
            probes.bounds_of.extend([len(probes.bounds) - 1] * len(item.words))
        if item.photo is not None:  # every listing under a photo key has that photo
            number = photo_bounds.get((key.year, key.price))
            if number is None:
                number = photo_bounds[key.year, key.price] = len(probes.bounds)
                probes.bounds.append(
                    Bounds(key.year, *ANY_LENGTH, *ANY_PRICE, *NO_PRICE, key.price)
                )
            probes.keys.append(item.photo)
            probes.bounds_of.append(number)
        if item.facts is not None:  # the same make, place and year: the prices near the record's
            near = fact_prices(key)
            probes.bounds.append(Bounds(key.year, *ANY_LENGTH, *near, *near, key.price))
            probes.keys.append(item.facts)
            probes.bounds_of.append(len(probes.bounds) - 1)
        of_record.append(range(first, len(probes.keys)))
    return probes, of_record
