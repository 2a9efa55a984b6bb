"""Benchmark the processor: records/s with mapping, validation, dedup and enrichment, peak RSS.

One command (PostgreSQL on DATABASE_URL or the local default; a throw-away database is made):

    .venv/bin/python -m bench.processor.bench_processor --records 100000 --known 100000

It pre-loads ``--known`` listings into the known index with COPY, writes a raw file of
``--records`` generated vehicle listings, then processes it as the service does (chunks in a
worker thread, linking against PostgreSQL in between) and prints records/s and peak RSS.
``--no-db`` measures the blocking part alone (no linking).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import resource
import tempfile
import time
import uuid
from pathlib import Path

import asyncpg
import orjson

from bench.e2e.stack import peak_rss_mb
from services.processor.dedup.keys import (
    EVIDENCE_COLUMNS,
    KNOWN_COLUMNS,
    VehicleKey,
    description_words,
    evidence,
    evidence_rows,
    from_row,
)
from services.processor.dedup.linker import Linker
from services.processor.dedup.rarity import Rarity
from services.processor.dedup.store import LINK_COLUMNS
from services.processor.processing import (
    CHUNK_SIZE,
    ChunkStages,
    Options,
    process_file,
    process_file_async,
)
from services.processor.quality.generator import CITIES, ListingGenerator
from services.processor.reader_process import ReaderProcess
from services.processor.schema import MIGRATIONS
from services.processor.stages.link import ChunkLinker
from shared import db, lifecycle
from shared.events import RecordType
from shared.records import Vehicle
from shared.storage import DataDir

ADMIN = os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


def write_raw(path: Path, n: int, seed: int) -> int:
    """Write ``n`` generated listings as a JSON array, streaming; return the file size."""
    gen = ListingGenerator(seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as out:
        out.write(b"[")
        written = 0
        while written < n:
            for listing in gen.listings(min(10_000, n - written)):
                out.write(b"," if written else b"")
                out.write(orjson.dumps(listing.record))
                written += 1
        out.write(b"]")
    return path.stat().st_size


async def preload(conn: asyncpg.Connection, known: int, seed: int) -> None:
    """COPY ``known`` synthetic listings and their blocking keys into the index."""
    gen = ListingGenerator(seed + 1)
    rng = random.Random(seed)
    batch: list[tuple[object, ...]] = []
    blocks: list[tuple[int, int, int, int, float, bool]] = []
    keys: list[VehicleKey] = []
    done = 0
    while done < known:
        for listing in gen.listings(min(20_000, known - done)):
            # A fifth in the file's 18 cities, the rest spread over 3,000 towns (a national index).
            town = rng.choice(CITIES)[0] if rng.random() < 0.2 else f"Town {rng.randrange(3000)}"
            record = {**listing.record, "locationCity": town}
            try:
                row = Vehicle.model_validate(record).to_row()
            except ValueError:
                continue
            keys.append(from_row(row))
            done += 1
        # Keys and words weighed per batch, as the service weighs a chunk (dedup.rarity).
        rarity = Rarity.of([description_words(key) for key in keys])
        for key in keys:
            weights = rarity.of_words(description_words(key)).columns()
            batch.append((*key.record(), key.data_hash, None, None, *weights))
            blocks.extend(evidence_rows(key, evidence(key, rarity)))
        keys = []
        await _copy(conn, batch, blocks)
        batch, blocks = [], []


async def _copy(conn: asyncpg.Connection, batch: list, blocks: list) -> None:
    seen: set[str] = set()
    unique = [row for row in batch if not (row[0] in seen or seen.add(row[0]))]
    await conn.execute(
        "CREATE TEMP TABLE IF NOT EXISTS k (LIKE processor_known_vehicles INCLUDING DEFAULTS)"
    )
    await conn.execute("TRUNCATE k")
    columns = (*KNOWN_COLUMNS, *LINK_COLUMNS)
    await conn.copy_records_to_table("k", records=unique, columns=columns)
    listed = ", ".join(columns)
    await conn.execute(
        f"INSERT INTO processor_known_vehicles ({listed}) SELECT {listed} FROM k "
        "ON CONFLICT DO NOTHING"
    )
    await conn.execute("CREATE TEMP TABLE IF NOT EXISTS b (LIKE processor_vehicle_evidence)")
    await conn.execute("TRUNCATE b")
    await conn.copy_records_to_table("b", records=blocks, columns=EVIDENCE_COLUMNS)
    await conn.execute(
        "INSERT INTO processor_vehicle_evidence SELECT * FROM b ON CONFLICT DO NOTHING"
    )


async def run(args: argparse.Namespace) -> None:
    """Prepare the data, process the file, print the figures."""
    root = Path(tempfile.mkdtemp(prefix="bench-processor-"))
    data_dir = DataDir(root)
    data_dir.ensure_layout()
    raw = root / "raw" / "2026-11-29" / "vehicles" / "drop_001.json"
    size = write_raw(raw, args.records, args.seed)
    print(f"raw file: {args.records} records, {size / 1e6:.1f} MB")
    options = Options(chunk_size=args.chunk_size)
    reader_mb: float | None = None
    if args.no_db:
        started = time.perf_counter()
        summary = process_file(
            raw, RecordType.VEHICLES, data_dir, batch_id="bench-p2", options=options
        )
    else:
        summary, started, reader_mb = await _run_with_db(args, raw, data_dir, options)
    elapsed = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    # The child's own VmHWM: getrusage's figure for children starts from the parent's at the fork.
    reader = "" if reader_mb is None else f" (+ reader process {reader_mb:.0f} MB)"
    print(
        f"processed {summary.records_read} records in {elapsed:.1f} s: "
        f"{summary.records_read / elapsed:,.0f} records/s; valid {summary.records_valid}, "
        f"known {summary.known_duplicates}, near-duplicates {summary.near_duplicates}; "
        f"peak RSS {peak_mb:.0f} MB{reader}"
    )


async def _run_with_db(args, raw, data_dir, options):  # type: ignore[no-untyped-def]
    name = f"bench_processor_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(ADMIN)
    await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.close()
    dsn = ADMIN.rsplit("/", 1)[0] + f"/{name}"
    try:
        pool = await asyncpg.create_pool(
            dsn, min_size=1, max_size=2, server_settings=db.SESSION_SETTINGS
        )
        async with pool.acquire() as conn:
            await db.apply_migrations(conn, "processor", MIGRATIONS)
            t0 = time.perf_counter()
            await preload(conn, args.known, args.seed)
            # Autovacuum vacuums an insert-only table (PostgreSQL 13+): do it now, so the probes
            # are index-only scans as they are on a long-running index.
            await conn.execute("VACUUM ANALYZE")
            print(f"pre-loaded {args.known} known listings in {time.perf_counter() - t0:.1f} s")
        stages = ChunkStages(ChunkLinker(Linker(pool)))
        reading = None if args.in_thread else ReaderProcess()
        if reading is not None:
            reading.spawn()  # as in a running service: the child is already up
        try:
            started = time.perf_counter()
            summary = await process_file_async(
                raw,
                RecordType.VEHICLES,
                data_dir,
                stages,
                meta={"batch_id": "bench-p2"},
                options=options,
                reading=reading,
            )
            reader_mb = None if reading is None or reading.pid is None else peak_rss_mb(reading.pid)
        finally:
            if reading is not None:
                reading.close()
        await pool.close()
        return summary, started, reader_mb
    finally:
        admin = await asyncpg.connect(ADMIN)
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


def main() -> None:
    """Parse the arguments and run the benchmark."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--known", type=int, default=100_000)
    parser.add_argument("--chunk-size", type=int, default=CHUNK_SIZE)  # the service default
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--no-db", action="store_true", help="no linking (blocking part alone)")
    parser.add_argument(
        "--in-thread", action="store_true", help="read in a thread, not a reader process"
    )
    lifecycle.tune_gc()  # as the service does (shared.lifecycle.run_service)
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
