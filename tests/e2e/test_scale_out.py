"""Scale-out: 3 processors and 2 importers sharing one namespace give the same result as 1 + 1.

Both configurations run as local processes (``python -m services.<name>``), each with its own
namespace, database and data folder, and receive the same files: listings with invalid records
and exact duplicates within and across files. Rows, failed records and processed outputs must be
the same, with nothing lost and nothing twice.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import orjson
import pytest

from bench.e2e.listings import Dataset, write_dataset
from bench.e2e.stack import Stack, drop_files
from services.importer.queries import quote
from shared.events import RecordType
from shared.records import LINEAGE_FIELDS, processed_columns
from tests.polling import eventually

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.nats,
    pytest.mark.postgres,
    pytest.mark.slow,
    pytest.mark.timeout(180),
]

# Compared per row: the record's data and its grade. Lineage says which file a row came from
# first, enrichment's market context depends on what was loaded before, and the linker makes the
# first-seen listing of a cluster its canonical: all three follow arrival order, which differs
# between any two runs (even two single-replica ones). Links are compared as clusters instead:
# which listings are grouped together as one car.
ORDER_DEPENDENT = {*LINEAGE_FIELDS, "enrichment", "canonical_hash", "match_score", "match_fields"}
COLUMNS = tuple(c for c in processed_columns(RecordType.VEHICLES) if c not in ORDER_DEPENDENT)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Dataset:
    """Write 6 files of 500 listings: 5% invalid, 5% exact duplicates, 5% near duplicates."""
    folder = tmp_path_factory.mktemp("outbox")
    return write_dataset(
        folder, 3000, 6, seed=11, invalid_rate=0.05, duplicate_rate=0.05, near_rate=0.05
    )


@pytest.fixture
async def stacks(tmp_path: Path) -> AsyncIterator[tuple[Stack, Stack]]:
    """Start one stack with 1 processor + 1 importer and one with 3 processors + 2 importers."""
    single = await Stack.create(tmp_path / "single")
    scaled = await Stack.create(tmp_path / "scaled")
    try:
        single.start(processors=1, importers=1)
        scaled.start(processors=3, importers=2)
        await asyncio.gather(single.wait_started(90), scaled.wait_started(90))
        yield single, scaled
    finally:
        await asyncio.gather(single.destroy(), scaled.destroy())


async def test_replicas_load_the_same_rows_failures_and_outputs_as_one(
    stacks: tuple[Stack, Stack], dataset: Dataset
) -> None:
    """Every valid listing is one row and every invalid one a failure, whatever the replicas."""
    single, scaled = stacks
    for stack in stacks:
        drop_files(dataset.files, stack.data / "inbox" / "vehicles")
    results = await asyncio.gather(*(_outcome(stack, len(dataset.files)) for stack in stacks))
    one, many = results

    # One row per valid listing: none lost, and none twice (a listing loaded twice would be a
    # second row under a second hash, since data_hash is unique).
    assert len(one["rows"]) == len(many["rows"]) == dataset.unique_valid
    differences = _differences(one["rows"], many["rows"])
    by_column = Counter(column for _, column, _, _ in differences)
    assert not differences, f"{len(differences)} differences {dict(by_column)}: {differences[:5]}"
    assert many["clusters"] == one["clusters"]
    assert sum(one["failed"].values()) == dataset.invalid
    assert many["failed"] == one["failed"]
    assert sum(one["processed"].values()) >= dataset.unique_valid
    assert many["processed"] == one["processed"]
    assert one["inserted"] == many["inserted"] == dataset.unique_valid
    assert (
        one["events"]
        == many["events"]
        == Counter({"files.collected": 6, "records.processed": 6, "records.imported": 6})
    )
    work = _work_by_replica(scaled)
    assert len(work) == 5, work  # 3 processors, 2 importers
    assert all(work.values()), f"a replica did none of the work: {work}"
    assert sum(v for k, v in work.items() if k.startswith("processor")) == len(dataset.files)
    assert set(single.stop().values()) == set(scaled.stop().values()) == {0}


WORK_DONE = {"processor": b'"file.processed"', "importer": b'"import.batch_imported"'}


def _work_by_replica(stack: Stack) -> dict[str, int]:
    """Return how many files each processor and batches each importer replica logged as done."""
    return {
        service.label: service.log.read_bytes().count(WORK_DONE[service.name])
        for service in stack.services
        if service.name in WORK_DONE
    }


async def _outcome(stack: Stack, files: int) -> dict[str, Any]:
    """Wait until every file is imported and recorded; return what the stack made of them."""
    conn = await asyncpg.connect(stack.dsn)
    try:
        await eventually(lambda: _imported(conn, files), timeout_s=120, interval_s=0.25)
        events = await eventually(lambda: _events(conn, 3 * files), timeout_s=30)
        cols = ", ".join(quote(c) for c in COLUMNS)
        rows = await conn.fetch(f"SELECT {cols} FROM vehicles ORDER BY data_hash")
        inserted = await conn.fetchval("SELECT sum(inserted) FROM import_batches")
        links = await conn.fetch("SELECT data_hash, canonical_hash FROM vehicles")
    finally:
        await conn.close()
    return {
        "rows": [tuple(str(value) for value in row) for row in rows],
        "failed": _failed(stack.data),
        "processed": _processed(stack.data),
        "inserted": int(inserted),
        "clusters": _clusters(links),
        "events": events,
    }


def _differences(
    one: list[tuple[str, ...]], many: list[tuple[str, ...]]
) -> list[tuple[str, str, str, str]]:
    """Return every (data_hash, column, one's value, many's value) that differs."""
    key = COLUMNS.index("data_hash")
    left = {row[key]: row for row in one}
    right = {row[key]: row for row in many}
    found = [(h[:12], "row", str(h in left), str(h in right)) for h in left.keys() ^ right.keys()]
    for digest in sorted(left.keys() & right.keys()):
        for column, a, b in zip(COLUMNS, left[digest], right[digest], strict=True):
            if a != b:
                found.append((digest[:12], column, a[:80], b[:80]))
    return found


def _clusters(links: list[asyncpg.Record]) -> set[frozenset[str]]:
    """Return the near-duplicate clusters of more than one listing (canonical plus its links)."""
    groups: dict[str, set[str]] = {}
    for row in links:
        if row["canonical_hash"] is not None:
            canonical = row["canonical_hash"]
            groups.setdefault(canonical, {canonical}).add(row["data_hash"])
    return {frozenset(group) for group in groups.values()}


async def _imported(conn: asyncpg.Connection, files: int) -> bool:
    return int(await conn.fetchval("SELECT count(*) FROM import_batches")) >= files


async def _events(conn: asyncpg.Connection, expected: int) -> Counter[str] | None:
    rows = await conn.fetch(
        "SELECT subject, count(*) AS n FROM monitor_events "
        "WHERE subject IN ('files.collected', 'records.processed', 'records.imported') "
        "GROUP BY subject"
    )
    counts = Counter({row["subject"]: int(row["n"]) for row in rows})
    return counts if sum(counts.values()) >= expected else None


def _lines(data: Path, pattern: str) -> list[dict[str, Any]]:
    return [
        orjson.loads(line)
        for path in sorted(data.glob(pattern))
        for line in path.read_bytes().splitlines()
        if line.strip()
    ]


def _failed(data: Path) -> Counter[bytes]:
    """Return the failed records with their reasons (not where they were: file names differ)."""
    lines = _lines(data, "failed/*/validation_errors/vehicles/*.jsonl")
    return Counter(
        orjson.dumps(
            {"record": line["record"], "errors": line["errors"]}, option=orjson.OPT_SORT_KEYS
        )
        for line in lines
    )


def _processed(data: Path) -> Counter[bytes]:
    """Return the processed lines without their lineage and order-dependent fields."""
    lines = _lines(data, "processed/*/vehicles/*.jsonl")
    return Counter(
        orjson.dumps({k: line.get(k) for k in COLUMNS}, option=orjson.OPT_SORT_KEYS)
        for line in lines
    )
