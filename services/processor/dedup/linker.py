"""Link each chunk of processed rows to what is already known, in one transaction per chunk.

Vehicles: an exact hit (same ``data_hash``) keeps the stored link and counts as known; a new
record is scored against the candidates sharing a blocking key (known ones and earlier records
of the chunk); the best candidate at or above the threshold gives its cluster's canonical. The
chunk's blocking stripes are advisory-locked for the whole transaction, so processors working
at once see each other's records and link the same way. Events and articles: exact only.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import chain
from typing import Any

import asyncpg

from shared.events import RecordType

from . import store
from .keys import Evidence, VehicleKey, description_words, evidence_rows, lock_ids
from .market import Market, MarketCache, market_context
from .prepare import KeyPreparer, Prepared, prepare_vehicles
from .rarity import UNIFORM, Rarity
from .scoring import LINK_THRESHOLD, score, with_evidence
from .store import Known
from .upkeep import EvidenceUpkeep

KNOWN_CACHE = 5_000
"""Known vehicles kept in memory (~2.5 KB each: ~12 MB); candidates already seen are not read
again. On the end-to-end generator's 60,000 listings, 20,000 cost the service 30 MB more for 10 %
less CPU: the processor's memory target (300 MB with its reader process) is the tighter bound."""


@dataclass
class LinkStats:
    """What linking one chunk found."""

    known: int = 0  # exact duplicates of records seen before (any file, day or replica)
    near: int = 0  # new records linked to a canonical listing


class Linker:
    """Matches chunks of rows against the known index in PostgreSQL."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        threshold: float = LINK_THRESHOLD,
        market: MarketCache | None = None,
        known_cache: int = KNOWN_CACHE,
    ) -> None:
        """Use ``pool`` for the index; link pairs scoring at least ``threshold``."""
        self.pool = pool
        self.threshold = threshold
        self.market = market or MarketCache()
        self.known = store.KnownCache(known_cache)
        self.upkeep = EvidenceUpkeep(pool)

    @property
    def preparer(self) -> KeyPreparer:
        """Return what prepares a chunk for ``link`` without the database (picklable)."""
        return KeyPreparer(self.threshold)

    async def link(
        self,
        record_type: RecordType,
        rows: Sequence[dict[str, Any]],
        prepared: Prepared | None = None,
    ) -> LinkStats:
        """Fill the link fields (and market context) of ``rows`` in place.

        ``prepared`` is ``prepare(record_type, rows)`` if the caller made it already.
        """
        if not rows:
            return LinkStats()
        if record_type is RecordType.VEHICLES:
            prepared = prepared or prepare_vehicles(rows, self.threshold)
            return await self._link_vehicles(rows, prepared)
        async with self.pool.acquire() as conn:
            known = await store.remember_records(
                conn, record_type.value, [row["data_hash"] for row in rows]
            )
        for row in rows:
            _dedup_note(row, "known" if row["data_hash"] in known else "new")
        return LinkStats(known=len(known))

    async def _link_vehicles(self, rows: Sequence[dict[str, Any]], prepared: Prepared) -> LinkStats:
        keys, found = prepared.keys, prepared.found
        async with self.pool.acquire() as conn, conn.transaction():
            await store.lock(conn, lock_ids(prepared.probes.keys))
            known = await store.exact(conn, [key.data_hash for key in keys])
            answers = await store.candidates(conn, prepared.probes, self.known)
            market = await self.market.load(conn, keys)
            # A new listing's evidence rows do not depend on its link: they are stored while the
            # chunk is matched in a worker thread, so PostgreSQL's index work overlaps the
            # scoring. (Stored after the probes ran: a record never finds its own chunk there.)
            evidence = [
                entry
                for key, probe in zip(keys, found, strict=True)
                if key.data_hash not in known
                for entry in evidence_rows(key, probe)
            ]
            _, (stats, new) = await asyncio.gather(
                store.insert_evidence(conn, evidence),
                asyncio.to_thread(self._match, rows, prepared, known, answers, market),
            )
            await store.insert_known(conn, new)
        self.market.remember(link.key for link in new)
        self.known.keep(new)
        self.upkeep.added(len(new))
        return stats

    def _match(
        self,
        rows: Sequence[dict[str, Any]],
        prepared: Prepared,
        known: dict[str, Known],
        answers: list[list[Known]],
        market: Market,
    ) -> tuple[LinkStats, list[Known]]:
        """Fill each row's market context and link; return the stats and the new listings.

        The chunk's own word weights (``prepared.rarity``) weigh its words, whatever the index
        holds: a chunk is a fixed slice of its file, so every replica weighs a record alike.
        """
        rarity = prepared.rarity
        stats = LinkStats()
        new: list[Known] = []
        chunk: dict[int, list[Known]] = {}  # this chunk's new listings by block key
        for row, key, probe, mine, words in zip(
            rows, prepared.keys, prepared.found, prepared.of_record, prepared.words, strict=True
        ):
            row["enrichment"]["market"] = market_context(key, market)
            link = known.get(key.data_hash)
            if link is not None:
                stats.known += 1
                _apply(row, link, "known")
                continue
            link = self.best_match(key, probe, [answers[i] for i in mine], chunk, rarity, words)
            stats.near += link.canonical_hash != key.data_hash
            _apply(row, link, "new")
            new.append(link)
            for block in probe.ids:
                chunk.setdefault(block, []).append(link)
        return stats, new

    def best_match(
        self,
        key: VehicleKey,
        probe: Evidence,
        answers: Sequence[Sequence[Known]],
        chunk: dict[int, list[Known]],
        rarity: Rarity = UNIFORM,
        words: frozenset[str] | None = None,
    ) -> Known:
        """Return ``key`` linked to its best candidate's canonical, or as its own canonical.

        Candidates are the known listings its probes found (``answers``) and the chunk's earlier
        new listings sharing one of its keys (the last ``MAX_CANDIDATES`` under each).
        ``rarity`` weighs the description's words (the chunk's); ``words`` are the record's
        (``keys.description_words``) when the caller has them.
        """
        earlier = (chunk.get(block, ())[-store.MAX_CANDIDATES :] for block in probe.ids)
        year = key.year
        candidates = [  # each once (one object per chunk), never the record itself
            candidate
            for candidate in dict.fromkeys(chain(chain.from_iterable(answers), *earlier))
            if abs(candidate.key.year - year) <= 1 and candidate.key.data_hash != key.data_hash
        ]
        best: tuple[float, str, Known, list[str]] | None = None
        if words is None:
            words = description_words(key)
        others = [candidate.key for candidate in candidates]
        weights = [candidate.own_weights for candidate in candidates]
        for index in with_evidence(key, others, rarity, words, weights):
            candidate = candidates[index]
            value, fields = score(key, candidate.key, rarity, weights[index])
            if value < self.threshold:
                continue
            # Highest score wins; ties go to the smallest canonical hash (deterministic).
            if best is None or (-value, candidate.canonical_hash) < (-best[0], best[1]):
                best = (value, candidate.canonical_hash, candidate, fields)
        own = rarity.of_words(words)  # its weights from now on, whoever meets it later
        if best is None:
            return Known(key, key.data_hash, weights=own)
        return Known(key, best[1], best[0], tuple(best[3]), own)


def _apply(row: dict[str, Any], link: Known, status: str) -> None:
    linked = link.canonical_hash != link.key.data_hash
    row["canonical_hash"] = link.canonical_hash if linked else None
    row["match_score"] = link.match_score if linked else None
    row["match_fields"] = list(link.match_fields or ()) if linked else None
    _dedup_note(row, status)


def _dedup_note(row: dict[str, Any], status: str) -> None:
    row["enrichment"]["dedup"] = {"status": status, "index": "processor_known_index"}
