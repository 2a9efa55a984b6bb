"""Normalized matching fields of a vehicle and its blocking keys.

Blocking keeps matching about linear: a record is only compared with known listings that share
one of its keys. Stored keys use the record's own year; probe keys cover year +/- 1, so a pair
one year apart still meets. Keys become signed 64-bit ids (btree-indexed in PostgreSQL), and
their advisory-lock stripes serialize processors that could link the same records.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import Any, NamedTuple
from urllib.parse import urlsplit

LOCK_NAMESPACE = 0x7072_6F63_0000_0000  # "proc": keeps the stripes apart from other locks
LOCK_STRIPES = 512  # at most this many advisory locks per chunk transaction
DESCRIPTION_CHARS = 300
_NON_ALNUM = re.compile(r"[^a-z0-9 ]+")
_VOWELS = re.compile(r"[aeiouy]")


class VehicleKey(NamedTuple):
    """What matching compares of a vehicle: lower-cased, trimmed, comparable fields.

    A named tuple: built ~10x faster than a frozen dataclass, and at a million known listings
    hundreds of thousands of candidates are built per file.
    """

    data_hash: str
    make: str
    model: str
    year: int
    price: float
    city: str
    state: str
    description: str
    image_url: str
    source: str
    source_url: str
    stock: str

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


KNOWN_COLUMNS = (
    "data_hash", "make", "model", "model_key", "year", "price", "city", "state",
    "description", "image_url", "source", "source_url", "stock",
)  # fmt: skip


def text(value: Any) -> str:
    """Return lower-case alphanumeric words of a value, single-spaced ("" for None)."""
    if value is None:
        return ""
    return " ".join(_NON_ALNUM.sub(" ", str(value).lower()).split())


def image_key(url: Any) -> str:
    """Return an image URL for comparison: host without ``www.`` and path, lower-cased."""
    if not url:
        return ""
    parts = urlsplit(str(url).strip().lower())
    return f"{parts.netloc.removeprefix('www.')}{parts.path}"


def from_row(row: Mapping[str, Any]) -> VehicleKey:
    """Return the matching fields of a processed vehicle row (snake_case columns)."""
    return VehicleKey(
        data_hash=row["data_hash"],
        make=text(row.get("make")),
        model=text(row.get("model")),
        year=int(row["year"]),
        price=float(row["price"]),
        city=text(row.get("location_city")),
        state=text(row.get("location_state")),
        description=text(row.get("description"))[:DESCRIPTION_CHARS],
        image_url=image_key(row.get("image_url")),
        source=text(row.get("source_name")),
        source_url=str(row.get("source_url") or "").lower().rstrip("/"),
        stock=text(row.get("stock_number")),
    )


def skeleton(word: str) -> str:
    """Return a word's consonant skeleton without repeats ("mustnag" -> "mstng")."""
    consonants = _VOWELS.sub("", word.replace(" ", ""))
    return "".join(c for i, c in enumerate(consonants) if i == 0 or consonants[i - 1] != c)


def _model_parts(key: VehicleKey) -> tuple[tuple[str, str], ...]:
    """Return the model's prefix, suffix and skeleton parts (one typo cannot change all three)."""
    model = key.model.replace(" ", "")
    return (("m", model[:4]), ("e", model[-4:]), ("s", skeleton(model)[:3]))


def _year_keys(key: VehicleKey, year: int, parts: tuple[tuple[str, str], ...]) -> list[str]:
    """Return model-prefix, model-suffix and model-skeleton keys within the place (city or state).

    A pair in two places is vetoed unless it shares its photo, which has its own key; so keying
    by place loses no link the scorer would make, and keeps blocks small.
    """
    place = key.city or key.state
    return [f"{tag}|{key.make}|{year}|{part}|{place}" for tag, part in parts]


def block_keys(key: VehicleKey) -> list[str]:
    """Return the keys a known listing is stored under."""
    keys = _year_keys(key, key.year, _model_parts(key))
    if key.image_url:
        keys.append(f"i|{key.image_url}")
    return keys


def probe_keys(key: VehicleKey) -> list[str]:
    """Return the keys a new record looks up: its stored keys for year - 1, year and year + 1.

    The order is fixed: year - 1, year, year + 1 (three keys each), then the image key; so the
    stored keys are a slice of the probe keys (``stored_ids``).
    """
    parts = _model_parts(key)
    keys = [
        k for year in (key.year - 1, key.year, key.year + 1) for k in _year_keys(key, year, parts)
    ]
    if key.image_url:
        keys.append(f"i|{key.image_url}")
    return keys


def stored_ids(probe_ids: list[int]) -> list[int]:
    """Return the distinct ids of ``block_keys`` from the ids of ``probe_keys`` (same key)."""
    return list(dict.fromkeys(probe_ids[3:6] + probe_ids[9:]))


@lru_cache(maxsize=1 << 16)  # records of a chunk share most keys (same make, model, place)
def key_id(key: str) -> int:
    """Return a blocking key's signed 64-bit id."""
    return int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8).digest(), "big", signed=True)


def lock_ids(ids: Iterable[int]) -> list[int]:
    """Return the sorted advisory-lock ids (stripes) covering these key ids."""
    return sorted({LOCK_NAMESPACE + (i % LOCK_STRIPES) for i in ids})
