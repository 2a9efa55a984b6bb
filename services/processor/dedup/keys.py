"""Normalized matching fields of a vehicle and its blocking keys.

Blocking keeps matching about linear: a record is only compared with known listings that share
one of its keys within a year either side, and the keys are the identifying evidence a link
needs (a rare word of the description, a photo path), so blocks stay small however many
listings of a model a town has, and however many share a dealer's template. Keys are signed
64-bit ids (btree-indexed in PostgreSQL with the photo flag and the price, see
``store.candidates``), and their advisory-lock stripes serialize processors that could link the
same records.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import Any, NamedTuple
from urllib.parse import urlsplit

from .rarity import UNIFORM, Rarity, words

LOCK_NAMESPACE = 0x7072_6F63_0000_0000  # "proc": keeps the stripes apart from other locks
LOCK_STRIPES = 512  # at most this many advisory locks per chunk transaction
DESCRIPTION_CHARS = 300
_NON_ALNUM = re.compile(r"[^a-z0-9 ]+")
_URL_UNUSUAL = frozenset("[]@\\")  # IPv6 hosts, user info, backslashes: left to urlsplit
# ASCII text in one bytes.translate: upper case to lower, every byte but [a-z0-9 ] to a space
# (what _NON_ALNUM does after lower()), ~3x faster than the regex on a description.
_ASCII_WORDS = bytes(
    c + 32 if 65 <= c <= 90 else c if 48 <= c <= 57 or 97 <= c <= 122 or c == 32 else 32
    for c in range(256)
)


class VehicleKey(NamedTuple):
    """What matching compares of a vehicle: lower-cased, trimmed, comparable fields.

    A named tuple: built ~10x faster than a frozen dataclass, and at a million known listings
    hundreds of thousands of candidates are built per file.
    """

    data_hash: str
    make: str
    model: str
    year: int
    price: float  # ``UNKNOWN_PRICE`` for a listing without one
    city: str
    state: str
    description: str  # its words sorted (``sorted_words``), the first 300 characters
    image_url: str
    source: str
    source_url: str
    stock: str

    @property
    def has_price(self) -> bool:
        """Return whether the listing has an asking price (one without is unknown, not zero)."""
        return self.price >= 0

    @property
    def model_key(self) -> str:
        """Return the model's first word: what "same make/model" means for market comparables."""
        return self.model.split(" ", 1)[0] if self.model else ""

    def record(self) -> tuple[Any, ...]:
        """Return the known-index row (columns of ``processor_known_vehicles`` after links)."""
        return (
            self.data_hash, self.make, self.model, self.model_key, self.year, self.price,
            self.city, self.state, self.description, self.image_url, self.source,
            self.source_url, self.stock,
        )  # fmt: skip


UNKNOWN_PRICE = -1.0
"""The price of a listing without one, in keys and the known index (whose column is NOT NULL).

Below every real price, so no price band holds it: scoring leaves the price out of a pair where
either side has none, market context neither counts it nor places it, and the probes read such
listings in an arm of their own (``store.candidates``).
"""

KNOWN_COLUMNS = (
    "data_hash", "make", "model", "model_key", "year", "price", "city", "state",
    "description", "image_url", "source", "source_url", "stock",
)  # fmt: skip


def text(value: Any) -> str:
    """Return lower-case alphanumeric words of a value, single-spaced ("" for None)."""
    if value is None:
        return ""
    value = str(value)
    if value.isascii():
        return " ".join(value.encode().translate(_ASCII_WORDS).decode().split())
    return " ".join(_NON_ALNUM.sub(" ", value.lower()).split())


def image_key(url: Any) -> str:
    """Return an image URL for comparison: host without ``www.`` and path, lower-cased.

    A plain ``http(s)://host/path?query#fragment`` URL (what validated records hold) is cut by
    ``str.partition``: ``urlsplit`` (~3 us) gives the same parts; any other shape goes to it.
    """
    if not url:
        return ""
    text = str(url).strip().lower()
    rest = (
        text[8:] if text.startswith("https://") else text[7:] if text.startswith("http://") else ""
    )
    if rest and text.isascii() and text.isprintable() and not _URL_UNUSUAL.intersection(rest):
        location, _, _ = rest.partition("#")
        location, _, _ = location.partition("?")
        host, slash, path = location.partition("/")
        return f"{host.removeprefix('www.')}{slash}{path}"
    parts = urlsplit(text)
    return f"{parts.netloc.removeprefix('www.')}{parts.path}"


def from_row(row: Mapping[str, Any]) -> VehicleKey:
    """Return the matching fields of a processed vehicle row (snake_case columns)."""
    return VehicleKey(
        data_hash=row["data_hash"],
        make=text(row.get("make")),
        model=text(row.get("model")),
        year=int(row["year"]),
        price=UNKNOWN_PRICE if row.get("price") is None else float(row["price"]),
        city=text(row.get("location_city")),
        state=text(row.get("location_state")),
        description=sorted_words(text(row.get("description"))[:DESCRIPTION_CHARS]),
        image_url=image_key(row.get("image_url")),
        source=text(row.get("source_name")),
        source_url=str(row.get("source_url") or "").lower().rstrip("/"),
        stock=text(row.get("stock_number")),
    )


def sorted_words(description: str) -> str:
    """Return the words sorted, single-spaced: what the description gate compares.

    ``token_sort_ratio(a, b) == ratio(sorted_words(a), sorted_words(b))``, so a description is
    kept sorted in the key (and in the known index) and compared with plain ``ratio``: each
    candidate is sorted once when stored, not once per record it is compared with.
    """
    return " ".join(sorted(description.split()))


def vehicle_id(data_hash: str) -> int:
    """Return a vehicle's signed 64-bit id: the first 16 hex digits of its data hash.

    The known index's ``vehicle_id`` column is the same value computed by PostgreSQL. Eight bytes
    instead of 64 characters per blocking row and cached comparable; two listings share an id
    with a probability of about n^2 / 2^65 (1e-8 at a million listings), and then one is a
    candidate for the other's blocks (the scorer still decides).
    """
    return int.from_bytes(bytes.fromhex(data_hash[:16]), "big", signed=True)


def description_words(key: VehicleKey) -> frozenset[str]:
    """Return the description's distinct words without the car's name (``rarity.words``)."""
    return words(key.description, f"{key.make} {key.model}")


@lru_cache(maxsize=1 << 13)  # a chunk's records share many (make, place, word) triples
def _word_key(make: str, place: str, word: str) -> int:
    return key_id(f"w|{make}|{place}|{word}")


class Evidence(NamedTuple):
    """A record's blocking key ids: its description's rarest words, its photo's, its facts'."""

    words: list[int]
    photo: int | None
    facts: int | None = None

    @property
    def ids(self) -> list[int]:
        """Return every key id: the record is stored under them and probes them."""
        found = self.words if self.photo is None else [*self.words, self.photo]
        return found if self.facts is None else [*found, self.facts]


def evidence(key: VehicleKey, rarity: Rarity = UNIFORM) -> Evidence:
    """Return the blocking keys of a record: the identifying evidence a link needs.

    Keys are the evidence ``scoring.score`` requires for a link, so a record meets its
    plausible matches and not every listing of its model in its town:

    * the description: each of its ``rarity.KEY_WORDS`` rarest words (``Rarity.rarest``: never
      a template word) within the make and place (city, else state), so a key's listings are the
      few sharing a fact (a mileage, a year, an option), however many share the template;
    * the photo: its path within the make (the same path on another host is the photo
      re-hosted);
    * the facts: make, year and place (city, else state), for a described listing with a price:
      a copy re-worded by another site, with its own photo, may share none of the rarest words
      (a dealer phrase it added is rarer still), and a link may rest on the facts it keeps
      (``scoring.FACTS``). The probe reads the prices within ``scoring.FACT_PRICE`` of the
      record's, nearest first, as Splink blocks on make, year and place.

    The index stores each key with the year, the description's length, the price and whether
    there is a photo (``evidence_rows``); a probe reads the years year - 1 to year + 1 (the
    scorer's year veto) and, for a word, only the prices that could still link
    (``prepare.chunk_probes``). A record with neither a description nor a photo has no key: it
    cannot be linked, so it is never a candidate.
    """
    found: list[int] = []
    described = description_words(key)
    rare = rarity.rarest(described)
    place = key.city or key.state
    if rare:
        found = [_word_key(key.make, place, word) for word in rare]
    path = key.image_url.partition("/")[2]
    facts = None
    if described and place and key.has_price:
        facts = _fact_key(key.make, place, key.year)
    return Evidence(found, key_id(f"p|{key.make}|{path}") if path else None, facts)


@lru_cache(maxsize=1 << 13)
def _fact_key(make: str, place: str, year: int) -> int:
    return key_id(f"f|{make}|{place}|{year}")


def description_length(key: VehicleKey) -> int:
    """Return the length the description gate compares."""
    return len(key.description)


EVIDENCE_COLUMNS = ("block_key", "year", "vehicle_id", "desc_len", "price", "photo")

EvidenceRow = tuple[int, int, int, int, float, bool]


def evidence_rows(key: VehicleKey, found: Evidence | None = None) -> list[EvidenceRow]:
    """Return a vehicle's rows of ``processor_vehicle_evidence`` (``EVIDENCE_COLUMNS``).

    Each row carries what a probe bounds without reading the listing: the description's length,
    the price and whether there is a photo. ``found`` is its ``evidence(key)`` when the caller
    already has it.
    """
    if found is None:
        found = evidence(key)
    vehicle, length = vehicle_id(key.data_hash), description_length(key)
    price, photo = key.price, bool(key.image_url)
    return [(block, key.year, vehicle, length, price, photo) for block in found.ids]


def key_id(key: str) -> int:
    """Return a blocking key's signed 64-bit id (not memoized: photo paths rarely repeat)."""
    return int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8).digest(), "big", signed=True)


def lock_ids(ids: Iterable[int]) -> list[int]:
    """Return the sorted advisory-lock ids (stripes) covering these key ids."""
    return sorted({LOCK_NAMESPACE + (i % LOCK_STRIPES) for i in ids})
