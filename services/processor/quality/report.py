"""Dedup quality: run generated listings through the processor's matching, count right links.

The listings go through the same mapping, repairs, validation, blocking and scoring as in the
service, with the known index held in memory instead of PostgreSQL (``MemoryIndex`` answers a
probe as ``store.candidates`` does: the key's listings within the bounds, at most
``store.MAX_CANDIDATES`` of them, in the same order). A link is a pair of distinct valid records
(different ``data_hash``) put in the same cluster; precision and recall compare those pairs with
the generator's ground truth.
"""

from __future__ import annotations

import bisect
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import combinations
from typing import Any

from shared.events import RecordType
from shared.records import Vehicle

from ..chunks import CHUNK_SIZE
from ..dedup import store
from ..dedup.keys import UNKNOWN_PRICE, description_words, evidence, from_row, vehicle_id
from ..dedup.linker import Linker
from ..dedup.prepare import Probes, chunk_probes
from ..dedup.rarity import Rarity
from ..dedup.scoring import LINK_THRESHOLD
from ..dedup.store import Known
from ..stages.normalize import Normalizer
from .generator import Listing, ListingGenerator


@dataclass(frozen=True)
class Quality:
    """Precision and recall of the duplicate links over one generated set."""

    listings: int
    valid: int
    distinct: int
    true_pairs: int
    predicted_pairs: int
    correct_pairs: int
    kinds: dict[str, int]
    threshold: float
    photos: str = "shared"

    @property
    def precision(self) -> float:
        """Return the share of predicted links that are true (1.0 with no link)."""
        return self.correct_pairs / self.predicted_pairs if self.predicted_pairs else 1.0

    @property
    def recall(self) -> float:
        """Return the share of true links that were predicted (1.0 with none to find)."""
        return self.correct_pairs / self.true_pairs if self.true_pairs else 1.0

    def lines(self) -> list[str]:
        """Return the report as printable lines."""
        f1 = 2 * self.precision * self.recall / ((self.precision + self.recall) or 1)
        return [
            f"listings {self.listings}  valid {self.valid}  distinct records {self.distinct}",
            "mix " + "  ".join(f"{kind} {count}" for kind, count in sorted(self.kinds.items())),
            f"photos {self.photos}  threshold {self.threshold:g}",
            f"true links {self.true_pairs}  predicted {self.predicted_pairs}"
            f"  correct {self.correct_pairs}",
            f"precision {self.precision:.4f}  recall {self.recall:.4f}  f1 {f1:.4f}",
        ]


class MemoryIndex:
    """The evidence index in memory: each key's listings in ``store.candidates``' order."""

    def __init__(self) -> None:
        """Start empty."""
        self.blocks: dict[tuple[int, bool], list[tuple[float, int, Known]]] = {}

    def add(self, link: Known, ids: Iterable[int]) -> None:
        """Store a listing under its keys."""
        entry = (link.key.price, vehicle_id(link.key.data_hash), link)
        for block in ids:
            bisect.insort(self.blocks.setdefault((block, bool(link.key.image_url)), []), entry)

    def candidates(self, probes: Probes, limit: int = store.MAX_CANDIDATES) -> list[list[Known]]:
        """Return each probe's candidates, as ``store.candidates`` reads them from PostgreSQL."""
        found: list[list[Known]] = []
        half = max(1, limit // 2)
        for block, number in zip(probes.keys, probes.bounds_of, strict=True):
            bounds = probes.bounds[number]
            answer: list[Known] = []
            for photo, lo, hi in (
                (True, bounds.min_price, bounds.max_price),
                (False, bounds.bare_min_price, bounds.bare_max_price),
            ):
                if lo > hi:
                    continue
                entries = self.blocks.get((block, photo), [])
                at = bisect.bisect_left(entries, (bounds.price, -(1 << 63)))
                up = (e for e in entries[at:] if max(lo, bounds.price) <= e[0] <= hi)
                down = (e for e in reversed(entries[:at]) if lo <= e[0] < min(hi, bounds.price))
                answer.extend(_first(up, bounds, half))
                answer.extend(_first(down, bounds, half))
                if lo > UNKNOWN_PRICE:  # the arm of unpriced listings
                    unpriced = (e for e in entries if e[0] == UNKNOWN_PRICE)
                    answer.extend(_first(unpriced, bounds, limit))
            found.append(answer)
        return found


def _first(entries: Iterable[tuple[float, int, Known]], bounds: Any, limit: int) -> list[Known]:
    """Return the first ``limit`` entries within the probe's years and description lengths."""
    out: list[Known] = []
    for _, _, known in entries:
        if len(out) >= limit:
            break
        other = known.key
        if abs(other.year - bounds.year) <= 1 and (
            bounds.min_len <= len(other.description) <= bounds.max_len
        ):
            out.append(known)
    return out


def cluster(
    rows: Iterable[dict[str, Any]], threshold: float = LINK_THRESHOLD, chunk_size: int = CHUNK_SIZE
) -> dict[str, str]:
    """Return data_hash -> canonical hash for rows, linked in order against an in-memory index.

    Words are weighed per chunk of ``chunk_size`` rows, as the service weighs them.
    """
    linker = Linker(pool=None, threshold=threshold)  # no SQL is run: best_match only
    index = MemoryIndex()
    canonical: dict[str, str] = {}
    rows = list(rows)
    for start in range(0, len(rows), chunk_size):
        keys = [from_row(row) for row in rows[start : start + chunk_size]]
        described = [description_words(key) for key in dict.fromkeys(keys)]
        rarity = Rarity.of(described)
        found = [evidence(key, rarity) for key in keys]  # keys are the chunk's own (as read)
        for key, evidenced in zip(keys, found, strict=True):
            if key.data_hash in canonical:
                continue
            probes, _ = chunk_probes([key], [evidenced], threshold)
            link = linker.best_match(key, evidenced, index.candidates(probes), {}, rarity)
            canonical[key.data_hash] = link.canonical_hash
            index.add(link, evidenced.ids)
    return canonical


def _pairs(groups: dict[Any, set[str]]) -> set[tuple[str, str]]:
    return {pair for members in groups.values() for pair in combinations(sorted(members), 2)}


@dataclass(frozen=True)
class Generated:
    """Generated listings, their valid rows in order, and each row's true car."""

    listings: list[Listing]
    rows: list[dict[str, Any]]
    entity_of: dict[str, int]


def generate(n: int, seed: int, photos: str = "shared") -> Generated:
    """Generate ``n`` listings and map, repair and validate them as the processor does."""
    listings = ListingGenerator(seed, photos=photos).listings(n)
    normalizer = Normalizer("drop", "generator", RecordType.VEHICLES)
    rows: list[dict[str, Any]] = []
    entity_of: dict[str, int] = {}
    for listing in listings:
        row = _row(listing, normalizer)
        if row is not None:
            rows.append(row)
            entity_of.setdefault(row["data_hash"], listing.entity)
    return Generated(listings, rows, entity_of)


def score_links(
    generated: Generated, canonical: dict[str, str], threshold: float, photos: str
) -> Quality:
    """Return precision and recall of the links ``canonical`` made on ``generated``."""
    truth: dict[int, set[str]] = {}
    predicted: dict[str, set[str]] = {}
    for data_hash, entity in generated.entity_of.items():
        truth.setdefault(entity, set()).add(data_hash)
        predicted.setdefault(canonical[data_hash], set()).add(data_hash)
    true_pairs, predicted_pairs = _pairs(truth), _pairs(predicted)
    return Quality(
        listings=len(generated.listings),
        valid=len(generated.rows),
        distinct=len(generated.entity_of),
        true_pairs=len(true_pairs),
        predicted_pairs=len(predicted_pairs),
        correct_pairs=len(true_pairs & predicted_pairs),
        kinds=dict(Counter(listing.kind for listing in generated.listings)),
        threshold=threshold,
        photos=photos,
    )


def measure(
    n: int = 2000,
    seed: int = 7,
    threshold: float = LINK_THRESHOLD,
    photos: str = "shared",
    chunk_size: int = CHUNK_SIZE,
) -> Quality:
    """Generate ``n`` listings, link them in memory, and return precision and recall.

    ``photos`` is the generator's photo mode (``generator.PHOTO_MODES``).
    """
    generated = generate(n, seed, photos)
    return score_links(generated, cluster(generated.rows, threshold, chunk_size), threshold, photos)


def _row(listing: Listing, normalizer: Normalizer) -> dict[str, Any] | None:
    mapped = normalizer(listing.record)
    try:
        return Vehicle.model_validate(mapped.record).to_row()
    except ValueError:
        return None
