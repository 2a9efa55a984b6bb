"""Benchmark: the importer's loader against a bare COPY of the same rows into the same tables.

    .venv/bin/python bench/importer/bench_import.py [--rows N] [--chunk-sizes 100,1000,5000]

For every chunk size, in one run, on the same generated rows (valid processed vehicle lines):

- **importer**: ``loader.load_file`` (read, parse, COPY into the staging table, upsert, per chunk
  one transaction) into a freshly migrated database;
- **bare COPY**: one ``COPY`` of the same rows, already parsed to Python values, into the
  ``vehicles`` table of another freshly migrated database (same indexes, trigger, generated
  search vector). Parsing is not timed here, so the baseline is the strict one;
- **reload**: the importer again on the same file (every row unchanged: nothing is written).

Prints rows/s for each and the ratio importer / bare COPY (target >= 0.70). The admin DSN (able
to create databases) comes from ``BENCH_ADMIN_DATABASE_URL``, default the local postgres.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

import asyncpg
import orjson

from services.importer import queries, schema
from services.importer.loader import LineReader, load_file, parse_lines
from shared import logs
from shared.events import RecordType
from shared.records import LINK_FIELDS, Vehicle, processed_columns

HEADER = f"{'chunk':>7} {'bare COPY r/s':>14} {'importer r/s':>13} {'ratio':>6} {'reload r/s':>11}"
ADMIN_DSN = os.environ.get(
    "BENCH_ADMIN_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
MAKES = ("Ford", "Chevrolet", "Porsche", "Jaguar", "Dodge", "Plymouth", "Mercedes-Benz", "BMW")
WORDS = (
    *("restored", "numbers", "matching", "original", "paint", "frame-off", "rust-free"),
    *("garage", "kept", "documented", "rebuilt", "engine", "four-speed", "manual"),
    *("convertible", "hardtop", "coupe", "fastback", "big", "block", "survivor"),
)


def generate(path: Path, rows: int, seed: int = 7) -> None:
    """Write ``rows`` valid processed vehicle lines, as the processor writes them."""
    rnd = random.Random(seed)
    columns = processed_columns(RecordType.VEHICLES)
    with path.open("wb") as handle:
        for i in range(rows):
            vehicle = Vehicle(
                source_name="bench",
                make=MAKES[i % len(MAKES)],
                model=f"Model {i % 500}",
                year=1950 + i % 60,
                price=Decimal(5_000 + rnd.randrange(500_000)),
                description=" ".join(rnd.choices(WORDS, k=20)),
                location_city=rnd.choice(("Tulsa", "Reno", "Austin", "Denver", "Miami")),
                location_state="OK",
                stock_number=f"B{i:08d}",
            )
            line: dict[str, Any] = {
                **vehicle.to_row(),
                "investment_grade": "B",
                "grade_rule": "default",
                **dict.fromkeys(LINK_FIELDS),
                "raw_file": "raw/2026-11-29/vehicles/bench_001.json",
                "record_position": i,
                "batch_id": "bench",
                "processed_at": "2026-11-29T10:00:00Z",
                "pipeline_version": "bench",
            }
            handle.write(orjson.dumps({c: line.get(c) for c in columns}) + b"\n")


def parsed(path: Path) -> list[tuple[Any, ...]]:
    """Return every line of the file as the tuple the loader would COPY."""
    reader = LineReader(path)
    try:
        staged, failed = parse_lines(processed_columns(RecordType.VEHICLES), reader.read(10**9))
    finally:
        reader.close()
    assert not failed
    return [row.values for row in staged]


@asynccontextmanager
async def fresh_pool() -> AsyncIterator[asyncpg.Pool]:
    """Yield a pool on a new, migrated database; drop it afterwards."""
    name = f"bench_import_{uuid.uuid4().hex[:8]}"
    base = ADMIN_DSN.rpartition("/")[0]
    admin = await asyncpg.connect(ADMIN_DSN)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        try:
            async with asyncpg.create_pool(f"{base}/{name}", min_size=1, max_size=2) as pool:
                async with pool.acquire() as conn:
                    await schema.migrate(conn)
                yield pool
        finally:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


async def bare_copy(records: list[tuple[Any, ...]]) -> float:
    """Return the seconds one COPY of ``records`` into ``vehicles`` takes on fresh tables."""
    columns = list(queries.table_sql(RecordType.VEHICLES).copy_columns)
    async with fresh_pool() as pool, pool.acquire() as conn:
        started = time.perf_counter()
        await conn.copy_records_to_table("vehicles", records=records, columns=columns)
        return time.perf_counter() - started


async def importer(path: Path, chunk_size: int) -> tuple[float, float]:
    """Return the seconds of a first load and of a reload (all unchanged) on fresh tables."""
    async with fresh_pool() as pool:
        started = time.perf_counter()
        first = await load_file(pool, path, RecordType.VEHICLES, chunk_size)
        loaded = time.perf_counter() - started
        started = time.perf_counter()
        again = await load_file(pool, path, RecordType.VEHICLES, chunk_size)
        reloaded = time.perf_counter() - started
    assert first.inserted == first.rows_total
    assert not first.failed
    assert again.unchanged == again.rows_total
    return loaded, reloaded


async def measure(
    path: Path, records: list[tuple[Any, ...]], chunk_size: int, repeat: int
) -> tuple[float, float, float]:
    """Return the median seconds of (bare COPY, importer, reload), runs interleaved."""
    copies, loads, reloads = [], [], []
    for _ in range(repeat):
        copies.append(await bare_copy(records))
        load_s, reload_s = await importer(path, chunk_size)
        loads.append(load_s)
        reloads.append(reload_s)
    return statistics.median(copies), statistics.median(loads), statistics.median(reloads)


async def run(rows: int, chunk_sizes: list[int], repeat: int) -> None:
    """Generate the rows once, then measure each chunk size against a bare COPY."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "processed/2026-11-29/vehicles/bench_001.jsonl"
        path.parent.mkdir(parents=True)
        generate(path, rows)
        records = parsed(path)
        print(f"rows: {rows}; file: {path.stat().st_size / 1e6:.1f} MB; median of {repeat} runs")
        print(HEADER)
        for chunk_size in chunk_sizes:
            copy_s, load_s, reload_s = await measure(path, records, chunk_size, repeat)
            print(
                f"{chunk_size:>7} {rows / copy_s:>14,.0f} {rows / load_s:>13,.0f} "
                f"{copy_s / load_s:>6.2f} {rows / reload_s:>11,.0f}",
                flush=True,
            )


def main() -> None:
    """Parse the arguments and run the benchmark."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20_000, help="rows to load (default 20000)")
    parser.add_argument(
        "--chunk-sizes",
        default="100,1000,5000",
        help="comma-separated chunk sizes to measure (default 100,1000,5000)",
    )
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement (median)")
    args = parser.parse_args()
    sizes = [int(x) for x in args.chunk_sizes.split(",") if x.strip()]
    logs.configure_logging("WARNING")
    asyncio.run(run(args.rows, sizes, args.repeat))


if __name__ == "__main__":
    main()
