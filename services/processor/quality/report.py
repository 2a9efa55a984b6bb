"""Dedup quality: run generated listings through the processor's matching, count right links.

The listings go through the same mapping, repairs, validation, blocking and scoring as in the
service, with the known index held in memory instead of PostgreSQL (the SQL only fetches the
same candidates). A link is a pair of distinct valid records (different ``data_hash``) put in the
same cluster; precision and recall compare those pairs with the generator's ground truth.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import combinations
from typing import Any

from shared.events import RecordType
from shared.records import Vehicle

from ..dedup.keys import evidence, from_row
from ..dedup.linker import Linker
from ..dedup.scoring import LINK_THRESHOLD
from ..dedup.store import Known
from ..sources import Normalizer
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
            f"threshold {self.threshold:g}",
            f"true links {self.true_pairs}  predicted {self.predicted_pairs}"
            f"  correct {self.correct_pairs}",
            f"precision {self.precision:.4f}  recall {self.recall:.4f}  f1 {f1:.4f}",
        ]


def cluster(rows: Iterable[dict[str, Any]], threshold: float = LINK_THRESHOLD) -> dict[str, str]:
    """Return data_hash -> canonical hash for rows, linked in order against an in-memory index."""
    linker = Linker(pool=None, threshold=threshold)  # no SQL is run: best_match only
    blocks: dict[int, list[Known]] = {}
    canonical: dict[str, str] = {}
    for row in rows:
        key = from_row(row)
        if key.data_hash in canonical:
            continue
        found = evidence(key)
        link = linker.best_match(key, found, (), blocks)
        canonical[key.data_hash] = link.canonical_hash
        for block in found.ids:
            blocks.setdefault(block, []).append(link)
    return canonical


def _pairs(groups: dict[Any, set[str]]) -> set[tuple[str, str]]:
    return {pair for members in groups.values() for pair in combinations(sorted(members), 2)}


def measure(n: int = 2000, seed: int = 7, threshold: float = LINK_THRESHOLD) -> Quality:
    """Generate ``n`` listings, link them, and return precision and recall of the links."""
    listings = ListingGenerator(seed).listings(n)
    normalizer = Normalizer("drop", "generator", RecordType.VEHICLES)
    rows: list[dict[str, Any]] = []
    entity_of: dict[str, int] = {}
    for listing in listings:
        row = _row(listing, normalizer)
        if row is not None:
            rows.append(row)
            entity_of.setdefault(row["data_hash"], listing.entity)
    canonical = cluster(rows, threshold)
    truth: dict[int, set[str]] = {}
    predicted: dict[str, set[str]] = {}
    for data_hash, entity in entity_of.items():
        truth.setdefault(entity, set()).add(data_hash)
        predicted.setdefault(canonical[data_hash], set()).add(data_hash)
    true_pairs, predicted_pairs = _pairs(truth), _pairs(predicted)
    return Quality(
        listings=len(listings),
        valid=len(rows),
        distinct=len(entity_of),
        true_pairs=len(true_pairs),
        predicted_pairs=len(predicted_pairs),
        correct_pairs=len(true_pairs & predicted_pairs),
        kinds=dict(Counter(listing.kind for listing in listings)),
        threshold=threshold,
    )


def _row(listing: Listing, normalizer: Normalizer) -> dict[str, Any] | None:
    mapped = normalizer(listing.record)
    try:
        return Vehicle.model_validate(mapped.record).to_row()
    except ValueError:
        return None
