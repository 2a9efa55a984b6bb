"""Cross-file dedup on real PostgreSQL and JetStream: links across files, sites and replicas."""

from __future__ import annotations

import asyncio
import contextvars
import hashlib
import math
from collections import Counter
from collections.abc import Sequence
from typing import Any

import asyncpg
import orjson
import pytest

from services.processor import handlers
from services.processor.app import serve
from services.processor.config import ProcessorSettings
from services.processor.dedup import store
from services.processor.dedup.keys import evidence, from_row, vehicle_id
from services.processor.dedup.linker import Linker, LinkStats
from services.processor.dedup.prepare import ANY_LENGTH, chunk_probes
from services.processor.dedup.scoring import LINK_THRESHOLD, score
from services.processor.quality.generator import ListingGenerator
from shared.bus import Bus
from shared.events import BatchProcessed, FileCollected, RecordType
from shared.records import Vehicle
from shared.settings import PipelineSettings
from shared.storage import DataDir
from tests.integration.conftest import reset_processor_tables
from tests.polling import eventually

pytestmark = [pytest.mark.nats, pytest.mark.postgres]

DAY = "2026-11-29"
TABLES = "processor_known_vehicles, processor_vehicle_evidence, processor_known_records"
CAR = {
    "make": "Chevrolet",
    "model": "Chevelle SS",
    "year": 1970,
    "price": 45000,
    "description": "Red Chevelle SS, numbers matching 454, frame-off restoration",
    "imageUrl": "https://img.site-a.example.com/p/1.jpg",
    "locationCity": "Tulsa",
    "locationState": "OK",
    "sourceName": "site-a",
    "sourceUrl": "https://site-a.example.com/listing/1",
    "stockNumber": "A-1",
}


@pytest.fixture
async def clean_index(settings: PipelineSettings) -> None:
    """Apply the processor's migrations and empty its index (the test database is shared)."""
    await reset_processor_tables(settings, TABLES)


REPLICA: contextvars.ContextVar[int] = contextvars.ContextVar("replica")
"""The number of the in-process processor a task belongs to (every task it starts inherits it)."""


async def _processors(count: int) -> tuple[list[asyncio.Task[None]], asyncio.Event]:
    """Start ``count`` processors, each in a context of its own ``REPLICA``."""
    stop = asyncio.Event()
    tasks = []
    for number in range(count):
        context = contextvars.copy_context()
        context.run(REPLICA.set, number)
        tasks.append(asyncio.create_task(serve(ProcessorSettings(), stop), context=context))
    return tasks, stop


def _count_by_replica(monkeypatch: pytest.MonkeyPatch) -> Counter[int | None]:
    """Count the files each replica processes, from the processor's own per-file step (not its
    log, whose loggers a process caches before a test could capture them)."""
    counts: Counter[int | None] = Counter()
    original = handlers.process_job

    async def counted(job: Any, deps: Any) -> Any:
        summary = await original(job, deps)
        counts[REPLICA.get(None)] += 1
        return summary

    monkeypatch.setattr(handlers, "process_job", counted)
    return counts


async def _stop(tasks: Sequence[asyncio.Task[None]], stop: asyncio.Event) -> None:
    stop.set()
    await asyncio.wait_for(asyncio.gather(*tasks), timeout=30)


async def _process(
    bus: Bus, data_dir: DataDir, files: dict[str, list[Any]], outcomes: list[BatchProcessed]
) -> list[dict[str, Any]]:
    """Publish every file at once, wait for all outcomes, return all processed rows."""
    outcomes.clear()
    for name, records in files.items():
        relative = f"raw/{DAY}/vehicles/{name}"
        path = data_dir.root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(orjson.dumps(records))
        await bus.publish(
            FileCollected(
                path=relative,
                sha256=hashlib.sha256(path.read_bytes()).hexdigest(),
                size_bytes=path.stat().st_size,
                record_type=RecordType.VEHICLES,
                source="drop",
                tool="drop",
            )
        )

    async def all_done() -> bool:
        return len({event.raw_path for event in outcomes}) == len(files)

    await eventually(all_done, timeout_s=40)
    rows: list[dict[str, Any]] = []
    for event in outcomes:
        content = (data_dir.root / event.processed_path).read_bytes()
        rows.extend(orjson.loads(line) for line in content.splitlines())
    return rows


def _clusters(rows: list[dict[str, Any]]) -> set[frozenset[str]]:
    groups: dict[str, set[str]] = {}
    for row in rows:
        head = row["canonical_hash"] or row["data_hash"]
        groups.setdefault(head, set()).add(row["data_hash"])
    return {frozenset(members) for members in groups.values()}


@pytest.mark.usefixtures("clean_index")
async def test_same_car_on_two_sites_is_linked_across_files(
    bus: Bus, data_dir: DataDir, outcomes: list[BatchProcessed]
) -> None:
    """The second file's copy of a car links to the first; a look-alike elsewhere does not."""
    tasks, stop = await _processors(1)
    try:
        first = await _process(bus, data_dir, {"drop_001.json": [CAR]}, outcomes)
        same_car = {
            **CAR,
            "model": "Chevele SS",
            "price": "$46,500",
            "imageUrl": "https://img.site-b.example.com/p/1.jpg",
            "sourceName": "site-b",
            "sourceUrl": "https://site-b.example.com/l/9",
            "stockNumber": "B-9",
        }
        other_city = {
            **same_car,
            "model": "Chevelle SS",
            "locationCity": "Denver",
            "locationState": "CO",
            "imageUrl": None,
            "stockNumber": "B-10",
        }
        second = await _process(
            bus, data_dir, {"drop_002.json": [same_car, other_city, CAR]}, outcomes
        )
    finally:
        await _stop(tasks, stop)
    (original,) = first
    linked, lookalike, again = second
    assert linked["canonical_hash"] == original["data_hash"]
    assert linked["match_score"] >= 80
    assert {"model", "description", "location"} <= set(linked["match_fields"])
    assert lookalike["canonical_hash"] is None
    assert again["data_hash"] == original["data_hash"]
    assert again["enrichment"]["dedup"]["status"] == "known"
    assert lookalike["enrichment"]["market"]["comparables"] == 1
    (event,) = outcomes
    report = orjson.loads((data_dir.root / f"processed/{DAY}/processing_report.json").read_bytes())
    entry = report["files"][event.raw_path]
    assert (entry["known_duplicates"], entry["near_duplicates"]) == (1, 1)


async def test_two_replicas_link_like_one(
    clean_index: None,
    settings: PipelineSettings,
    bus: Bus,
    data_dir: DataDir,
    outcomes: list[BatchProcessed],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Two processors sharing the work over several files give the same clusters as one."""
    listings = ListingGenerator(11).listings(160)
    files = {f"drop_{i:03d}.json": [x.record for x in listings[i::4]] for i in range(4)}
    tasks, stop = await _processors(1)
    try:
        one = _clusters(await _process(bus, data_dir, files, outcomes))
    finally:
        await _stop(tasks, stop)
    await clean_index_again(settings)
    by_replica = _count_by_replica(monkeypatch)
    tasks, stop = await _processors(2)
    try:
        two = _clusters(await _process(bus, data_dir, files, outcomes))
    finally:
        await _stop(tasks, stop)
    assert sum(len(group) > 1 for group in one) >= 10
    assert one == two
    assert sorted(by_replica) == [0, 1], f"one replica did all the work: {by_replica}"
    assert by_replica.total() == len(files)


async def clean_index_again(settings: PipelineSettings) -> None:
    """Empty the index between the two runs."""
    await reset_processor_tables(settings, TABLES, migrate=False)


@pytest.mark.usefixtures("clean_index")
async def test_a_listing_seen_again_is_not_its_own_comparable(
    bus: Bus, data_dir: DataDir, outcomes: list[BatchProcessed]
) -> None:
    """A fresh processor reads the comparables from PostgreSQL and leaves the listing out."""
    neighbour = {**CAR, "stockNumber": "A-2", "year": 1971, "price": 52000}
    for files in ({"drop_001.json": [CAR, neighbour]}, {"drop_002.json": [CAR]}):
        tasks, stop = await _processors(1)  # a new process each time: nothing cached
        try:
            rows = await _process(bus, data_dir, files, outcomes)
        finally:
            await _stop(tasks, stop)
    (again,) = rows  # the second file's
    assert again["enrichment"]["dedup"]["status"] == "known"
    assert again["enrichment"]["market"]["comparables"] == 1  # the neighbour, not itself
    assert again["enrichment"]["market"]["median"] == 52000.0


def _distinct_rows(n: int, seed: int) -> list[dict[str, Any]]:
    """Return the valid generated listings as processed rows, each data hash once."""
    rows: dict[str, dict[str, Any]] = {}
    for listing in ListingGenerator(seed).listings(n):
        try:
            row = Vehicle.model_validate(listing.record).to_row()
        except ValueError:
            continue
        rows.setdefault(row["data_hash"], row)
    return list(rows.values())


async def _link_then_forget(linker: Linker, rows: list[dict[str, Any]]) -> list[str | None]:
    """Link a copy of ``rows``, return their canonical hashes, then remove them from the index."""
    chunk = [{**row, "enrichment": {}} for row in rows]
    await linker.link(RecordType.VEHICLES, chunk)
    hashes = [row["data_hash"] for row in rows]
    async with linker.pool.acquire() as conn:
        await conn.execute(
            "DELETE FROM processor_vehicle_evidence WHERE vehicle_id = ANY($1::bigint[])",
            [vehicle_id(data_hash) for data_hash in hashes],
        )
        await conn.execute(
            "DELETE FROM processor_known_vehicles WHERE data_hash = ANY($1::text[])", hashes
        )
    return [row["canonical_hash"] for row in chunk]


@pytest.mark.usefixtures("clean_index")
async def test_events_and_articles_are_deduplicated_exactly_and_apart(
    settings: PipelineSettings,
) -> None:
    """An event or article seen before (the same ``data_hash``, in any file) is "known", a new
    one "new"; events and articles keep apart; nothing is linked by likeness."""

    def rows(*hashes: str) -> list[dict[str, Any]]:
        return [{"data_hash": value, "enrichment": {}} for value in hashes]

    pool = await asyncpg.create_pool(
        settings.database_url.get_secret_value(), min_size=1, max_size=2
    )
    try:
        linker = Linker(pool)
        first, again, articles = rows("e1", "e2"), rows("e2", "e3", "e1"), rows("e2")
        stats = [
            await linker.link(RecordType.EVENTS, first),
            await linker.link(RecordType.EVENTS, again),
            await linker.link(RecordType.ARTICLES, articles),
            await linker.link(RecordType.EVENTS, []),
        ]
    finally:
        await pool.close()
    assert stats == [LinkStats(0, 0), LinkStats(2, 0), LinkStats(0, 0), LinkStats(0, 0)]

    def statuses(chunk: list[dict[str, Any]]) -> list[str]:
        notes = [row["enrichment"]["dedup"] for row in chunk]
        assert {note["index"] for note in notes} == {"processor_known_index"}
        return [note["status"] for note in notes]

    assert statuses(first) == ["new", "new"]
    assert statuses(again) == ["known", "new", "known"]
    assert statuses(articles) == ["new"]  # the same hash as an event: another kind
    assert all(set(row) == {"data_hash", "enrichment"} for row in first + again + articles)


@pytest.mark.usefixtures("clean_index")
async def test_listings_seen_again_keep_their_links_and_are_counted_as_known(
    settings: PipelineSettings,
) -> None:
    """A chunk linked a second time (the same file again, or a replica's redelivery) finds every
    listing known: the same links as the first time, noted "known", none counted as near."""
    rows = _distinct_rows(300, seed=8)
    pool = await asyncpg.create_pool(
        settings.database_url.get_secret_value(), min_size=1, max_size=2
    )
    try:
        first = [{**row, "enrichment": {}} for row in rows]
        again = [{**row, "enrichment": {}} for row in rows]
        first_stats = await Linker(pool).link(RecordType.VEHICLES, first)
        again_stats = await Linker(pool, known_cache=1).link(RecordType.VEHICLES, again)
    finally:
        await pool.close()
    linked = sum(row["canonical_hash"] is not None for row in first)
    assert linked >= 5
    assert first_stats == LinkStats(known=0, near=linked)
    assert again_stats == LinkStats(known=len(rows), near=0)
    for before, after in zip(first, again, strict=True):
        assert after["canonical_hash"] == before["canonical_hash"]
        assert after["match_score"] == before["match_score"]
        assert after["match_fields"] == before["match_fields"]
        assert before["enrichment"]["dedup"]["status"] == "new"
        assert after["enrichment"]["dedup"]["status"] == "known"
        assert after["enrichment"]["market"] is not None
        if before["canonical_hash"] is None:  # its own canonical: no score, no fields
            assert (before["match_score"], before["match_fields"]) == (None, None)


@pytest.mark.usefixtures("clean_index")
async def test_two_copies_in_one_chunk_are_linked_to_each_other(
    settings: PipelineSettings,
) -> None:
    """The same car twice in one file (two sites' feeds merged) links the later copy to the
    earlier one: the chunk's own new listings are candidates too."""
    same_car = {
        **CAR,
        "price": 46500,
        "imageUrl": "https://img.site-b.example.com/p/1.jpg",
        "sourceName": "site-b",
        "sourceUrl": "https://site-b.example.com/l/9",
        "stockNumber": "B-9",
    }
    rows = [{**Vehicle.model_validate(car).to_row(), "enrichment": {}} for car in (CAR, same_car)]
    pool = await asyncpg.create_pool(
        settings.database_url.get_secret_value(), min_size=1, max_size=2
    )
    try:
        stats = await Linker(pool).link(RecordType.VEHICLES, rows)
    finally:
        await pool.close()
    first, second = rows
    assert stats == LinkStats(known=0, near=1)
    assert first["canonical_hash"] is None
    assert second["canonical_hash"] == first["data_hash"]
    assert second["match_score"] >= LINK_THRESHOLD
    assert [row["enrichment"]["dedup"]["status"] for row in rows] == ["new", "new"]


@pytest.mark.usefixtures("clean_index")
async def test_links_do_not_depend_on_the_known_row_cache(
    settings: PipelineSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A linker whose cache holds one row, reading rows 7 at a time, links a chunk exactly as
    one that holds them all."""
    distinct = _distinct_rows(400, seed=5)
    first, second = distinct[:180], distinct[180:]
    links: dict[int, list[str | None]] = {}
    pool = await asyncpg.create_pool(
        settings.database_url.get_secret_value(), min_size=1, max_size=2
    )
    try:
        await Linker(pool).link(RecordType.VEHICLES, [{**row, "enrichment": {}} for row in first])
        for cache_size in (1, 10_000):
            monkeypatch.setattr(store, "READ_BATCH", 7 if cache_size == 1 else 2_000)
            links[cache_size] = await _link_then_forget(
                Linker(pool, known_cache=cache_size), second
            )
    finally:
        await pool.close()
    assert sum(link is not None for link in links[1]) >= 10
    assert links[1] == links[10_000]


@pytest.mark.usefixtures("clean_index")
async def test_a_known_row_stored_without_its_words_links_alike(
    settings: PipelineSettings,
) -> None:
    """Rows stored before the words column (NULL) derive their words: the same links."""
    distinct = _distinct_rows(400, seed=6)
    first, second = distinct[:180], distinct[180:]
    links: dict[bool, list[str | None]] = {}
    pool = await asyncpg.create_pool(
        settings.database_url.get_secret_value(), min_size=1, max_size=2
    )
    try:
        await Linker(pool).link(RecordType.VEHICLES, [{**row, "enrichment": {}} for row in first])
        async with pool.acquire() as conn:
            stored = await conn.fetchval(
                "SELECT count(*) FROM processor_known_vehicles WHERE words IS NOT NULL"
            )
        for words in (True, False):
            if not words:
                async with pool.acquire() as conn:
                    await conn.execute("UPDATE processor_known_vehicles SET words = NULL")
            links[words] = await _link_then_forget(Linker(pool, known_cache=1), second)
    finally:
        await pool.close()
    assert stored == len({row["data_hash"] for row in first})
    assert sum(link is not None for link in links[True]) >= 10
    assert links[True] == links[False]


@pytest.mark.usefixtures("clean_index")
async def test_the_linker_vacuums_the_evidence_index_as_it_grows(
    settings: PipelineSettings,
) -> None:
    """Once ``every`` listings are added, the evidence table's pages are marked all-visible."""
    rows = [{**row, "enrichment": {}} for row in _distinct_rows(150, seed=7)]
    pool = await asyncpg.create_pool(
        settings.database_url.get_secret_value(), min_size=1, max_size=2
    )
    visible_pages = (
        "SELECT relallvisible, pg_relation_size(oid) / current_setting('block_size')::int "
        "FROM pg_class WHERE relname = 'processor_vehicle_evidence'"
    )
    try:
        linker = Linker(pool)
        linker.upkeep.every = 100
        await linker.link(RecordType.VEHICLES, rows[:60])
        await linker.upkeep.wait()
        assert linker.upkeep.vacuums == 0
        await linker.link(RecordType.VEHICLES, rows[60:])
        await linker.upkeep.wait()
        async with pool.acquire() as conn:
            visible, pages = await conn.fetchrow(visible_pages)
    finally:
        await pool.close()
    assert linker.upkeep.vacuums == 1
    assert visible == pages > 0


@pytest.mark.usefixtures("clean_index")
async def test_the_probe_bounds_skip_only_listings_the_scorer_refuses(
    settings: PipelineSettings,
) -> None:
    """What the price bounds leave out of a probe could never have linked.

    Listings without a place: with one, the other fields reach the threshold at any price (a photo
    on another host is left out of the score), so only place-less probes are price-bounded.
    """
    distinct = [
        {**row, "location_city": None, "location_state": None}
        for row in _distinct_rows(900, seed=6)
    ]
    known, new = distinct[:600], [from_row(row) for row in distinct[600:]]
    probes, of_record = chunk_probes(new, [evidence(key) for key in new], LINK_THRESHOLD)
    unbounded = probes._replace(
        bounds=[
            bounds._replace(
                min_len=ANY_LENGTH[0], max_len=ANY_LENGTH[1], min_price=-math.inf,
                max_price=math.inf, bare_min_price=-math.inf, bare_max_price=math.inf,
            )
            for bounds in probes.bounds
        ]
    )  # fmt: skip
    pool = await asyncpg.create_pool(
        settings.database_url.get_secret_value(), min_size=1, max_size=2
    )
    try:
        await Linker(pool).link(RecordType.VEHICLES, [{**row, "enrichment": {}} for row in known])
        async with pool.acquire() as conn:
            bounded = await store.candidates(conn, probes, store.KnownCache(10_000), 10_000)
            everything = await store.candidates(conn, unbounded, store.KnownCache(10_000), 10_000)
    finally:
        await pool.close()
    skipped, kept_links = 0, 0
    for key, mine in zip(new, of_record, strict=True):
        kept = {found.key.data_hash for index in mine for found in bounded[index]}
        kept_links += sum(
            score(key, found.key)[0] >= LINK_THRESHOLD for index in mine for found in bounded[index]
        )
        for index in mine:
            for found in everything[index]:
                if found.key.data_hash not in kept:
                    skipped += 1
                    assert score(key, found.key)[0] < LINK_THRESHOLD
    assert skipped >= 10  # the bounds did leave candidates out
    assert kept_links > 10  # and kept the ones that link


@pytest.mark.usefixtures("clean_index")
async def test_a_listing_without_a_price_links_both_ways_and_is_no_comparable(
    bus: Bus, data_dir: DataDir, outcomes: list[BatchProcessed]
) -> None:
    """An auction lot without a price and the same car priced elsewhere link, in either order.

    The photos are each site's own (another path), so the description band's probe must find
    the known listing without a price; it is not a market comparable of the priced copy.
    """
    lot = {**CAR, "price": "Call for price", "imageUrl": "https://lots.example.com/77/a.jpg"}
    priced = {
        **CAR,
        "sourceName": "site-b",
        "sourceUrl": "https://site-b.example.com/l/9",
        "stockNumber": "B-9",
        "imageUrl": "https://img.site-b.example.com/inv/123/main.jpg",
    }
    later_lot = {**lot, "sourceName": "site-c", "stockNumber": "C-1", "sourceUrl": None}
    tasks, stop = await _processors(1)
    try:
        (first,) = await _process(bus, data_dir, {"drop_001.json": [lot]}, outcomes)
        (second,) = await _process(bus, data_dir, {"drop_002.json": [priced]}, outcomes)
        (third,) = await _process(bus, data_dir, {"drop_003.json": [later_lot]}, outcomes)
    finally:
        await _stop(tasks, stop)
    assert first["price"] is None
    assert second["canonical_hash"] == first["data_hash"]
    assert "price" not in second["match_fields"]
    assert second["enrichment"]["market"]["comparables"] == 0
    assert third["canonical_hash"] in {first["data_hash"], second["data_hash"]}
    assert "percentile" not in third["enrichment"]["market"]
