"""Benchmark: what the observations cost the importer, with and without, runs interleaved.

    .venv/bin/python -m bench.importer.bench_observations [--rows 20000] [--repeat 10]

On the same generated file (``bench_import.generate``), alternately with the observations on
and off (``services.importer.observations.OBSERVED_TYPES`` emptied), each time on a freshly
migrated database: a first load (every row new) and a reload of the same file (every row
unchanged, the same batch: every observation already there). Interleaving the two sides in one
process keeps a shared machine's drift out of the comparison. Prints the median rows/s of each.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

from bench.importer.bench_import import fresh_pool, generate
from services.importer import observations
from services.importer.loader import load_file
from shared import logs
from shared.events import RecordType

CHUNK = 5000
OBSERVED = observations.OBSERVED_TYPES


async def load_twice(path: Path, *, observe: bool) -> tuple[float, float]:
    """Return the seconds of a first load and of a reload, observations on or off."""
    observations.OBSERVED_TYPES = OBSERVED if observe else frozenset()
    try:
        async with fresh_pool() as pool:
            started = time.perf_counter()
            await load_file(pool, path, RecordType.VEHICLES, CHUNK)
            loaded = time.perf_counter() - started
            started = time.perf_counter()
            await load_file(pool, path, RecordType.VEHICLES, CHUNK)
            return loaded, time.perf_counter() - started
    finally:
        observations.OBSERVED_TYPES = OBSERVED


async def run(rows: int, repeat: int) -> None:
    """Generate the file once, then load it ``repeat`` times each way, alternating the order."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "processed/2026-11-29/vehicles/bench_001.jsonl"
        path.parent.mkdir(parents=True)
        generate(path, rows)
        runs: dict[bool, list[tuple[float, float]]] = {True: [], False: []}
        for i in range(repeat):
            for observe in (False, True) if i % 2 == 0 else (True, False):
                runs[observe].append(await load_twice(path, observe=observe))
        print(f"rows: {rows}; chunk {CHUNK}; median of {repeat} runs each, interleaved")
        for observe in (False, True):
            load = statistics.median(x for x, _ in runs[observe])
            reload = statistics.median(y for _, y in runs[observe])
            label = "with observations   " if observe else "without observations"
            print(f"  {label}  load {rows / load:>8,.0f} r/s  reload {rows / reload:>8,.0f} r/s")


def main() -> None:
    """Parse the arguments and run the benchmark."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20_000, help="rows to load (default 20000)")
    parser.add_argument("--repeat", type=int, default=10, help="runs per side (default 10)")
    args = parser.parse_args()
    logs.configure_logging("WARNING")
    asyncio.run(run(args.rows, args.repeat))


if __name__ == "__main__":
    main()
