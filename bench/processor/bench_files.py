"""Benchmark the processor alone on the end-to-end benchmark's files: where its CPU goes.

    .venv/bin/python -m bench.processor.bench_files [--records 200000] [--files 8] [--steps]

It writes the listings ``bench.e2e.run`` drops (same generator, same seed), then processes the
files one after the other as the service does (a reader process, linking against PostgreSQL in
a throw-away database, chunk by chunk) and prints records/s and the CPU seconds of the service,
its reader process and its PostgreSQL backends, and the peak RSS of the service and its reader
process. ``--steps`` adds, for each step of the linking's store, its wall seconds and its
backend's CPU seconds; ``--counts`` what linking did per record (probes, candidates, rows read
from the index, pairs put to the description gate and passed, links): a change meant only to be
faster must leave them as they were. The database is made and dropped as the
end-to-end benchmark's (``bench.e2e.stack.create_database``: ``TEST_ADMIN_DATABASE_URL``, default
the local postgres).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import resource
import shutil
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import asyncpg
from pydantic import SecretStr

from bench.e2e.cpu import process_cpu_s
from bench.e2e.listings import write_dataset
from bench.e2e.stack import create_database, drop_database, peak_rss_mb
from services.processor.dedup import linker, market, scoring, store
from services.processor.dedup.linker import Linker
from services.processor.processing import CHUNK_SIZE, ChunkStages, Options, process_file_async
from services.processor.reader_process import ReaderProcess
from services.processor.schema import MIGRATIONS
from services.processor.stages.link import ChunkLinker
from shared import db, lifecycle
from shared.events import RecordType
from shared.storage import DataDir

STEPS = {
    store: ("lock", "exact", "candidates", "insert_evidence", "insert_known"),
    market: ("fetch",),
}


class LinkCounts(Counter[str]):
    """What linking saw: probes, candidates, rows read, pairs gated and passed (this process)."""

    @contextlib.contextmanager
    def installed(self) -> Iterator[LinkCounts]:
        """Count while in the block: the linker's steps are wrapped, then put back."""
        candidates, with_evidence, known = store.candidates, scoring.with_evidence, store._known

        async def counted_candidates(*args: Any, **kwargs: Any) -> list[list[store.Known]]:
            found = await candidates(*args, **kwargs)
            self["probes"] += len(args[1].keys)
            self["candidates"] += sum(map(len, found))
            return found

        def counted_gate(key: Any, others: Any, *args: Any, **kwargs: Any) -> list[int]:
            passed = with_evidence(key, others, *args, **kwargs)
            self["records linked"] += 1
            self["pairs gated"] += len(others)
            self["pairs passed"] += len(passed)
            return passed

        def counted_read(row: Any) -> store.Known:
            self["rows read"] += 1
            return known(row)

        wrappers = (
            (store, "candidates", counted_candidates),
            (linker, "with_evidence", counted_gate),  # the name the linker calls
            (store, "_known", counted_read),
        )
        originals = [(module, name, getattr(module, name)) for module, name, _ in wrappers]
        for module, name, wrapper in wrappers:
            setattr(module, name, wrapper)
        try:
            yield self
        finally:
            for module, name, original in originals:
                setattr(module, name, original)


class StepTimes:
    """Wall and backend CPU seconds per store step (the functions take the connection first)."""

    def __init__(self) -> None:
        """Start with nothing counted."""
        self.wall: dict[str, float] = defaultdict(float)
        self.backend: dict[str, float] = defaultdict(float)

    def wrap(self, name: str, step: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
        """Return ``step`` counting its wall time and its connection's backend CPU."""

        async def timed(conn: asyncpg.Connection, *args: Any, **kwargs: Any) -> Any:
            pid = conn.get_server_pid()
            cpu, started = process_cpu_s(pid) or 0.0, time.perf_counter()
            try:
                return await step(conn, *args, **kwargs)
            finally:
                self.wall[name] += time.perf_counter() - started
                self.backend[name] += (process_cpu_s(pid) or 0.0) - cpu

        return timed

    def install(self) -> None:
        """Replace the store's steps by counting ones (this process only)."""
        for module, names in STEPS.items():
            for name in names:
                setattr(module, name, self.wrap(name, getattr(module, name)))


async def backends_cpu_s(pool: asyncpg.Pool) -> float:
    """Return the CPU seconds so far of the PostgreSQL backends of the pool's database."""
    pids = await pool.fetch("SELECT pid FROM pg_stat_activity WHERE datname = current_database()")
    return sum(process_cpu_s(pid) or 0.0 for (pid,) in pids)


async def process(files: list[Path], dsn: str, root: Path, chunk_size: int) -> dict[str, float]:
    """Process ``files`` one after the other; return the figures."""
    data_dir = DataDir(root)
    data_dir.ensure_layout()
    async with db.create_pool(SecretStr(dsn), max_size=4, application_name="bench") as pool:
        async with pool.acquire() as conn:
            await db.apply_migrations(conn, "processor", MIGRATIONS)
        linking = Linker(pool)
        stages = ChunkStages(ChunkLinker(linking))
        reading = ReaderProcess()
        reading.spawn()  # as in a running service: the child is already up
        assert reading.pid is not None  # spawn() started it
        reader_pid, records, valid, links = reading.pid, 0, 0, 0
        backend_cpu = await backends_cpu_s(pool)
        service_cpu, reader_cpu = time.process_time(), process_cpu_s(reader_pid) or 0.0
        started = time.perf_counter()
        try:
            for number, path in enumerate(files):
                raw = root / "raw" / "2026-11-29" / "vehicles" / path.name
                raw.parent.mkdir(parents=True, exist_ok=True)
                shutil.move(path, raw)
                summary = await process_file_async(
                    raw,
                    RecordType.VEHICLES,
                    data_dir,
                    stages,
                    meta={"batch_id": f"bench-{number}"},
                    options=Options(chunk_size=chunk_size),
                    reading=reading,
                )
                records += summary.records_read
                valid += summary.records_valid
                links += summary.near_duplicates
            seconds = time.perf_counter() - started
            figures = {
                "service_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                "reader_mib": peak_rss_mb(reader_pid) or 0.0,
                "records": records,
                "valid": valid,
                "links": links,
                "seconds": seconds,
                "service_cpu_s": time.process_time() - service_cpu,
                "reader_cpu_s": (process_cpu_s(reader_pid) or 0.0) - reader_cpu,
                "backends_cpu_s": await backends_cpu_s(pool) - backend_cpu,
            }
        finally:
            reading.close()
            await linking.upkeep.close()
    return figures


async def run(args: argparse.Namespace) -> None:
    """Write the files, process them in a throw-away database, print the figures."""
    work = Path(tempfile.mkdtemp(prefix="bench-files-"))
    steps, counts = StepTimes(), LinkCounts()
    if args.steps:
        steps.install()
    name, dsn = await create_database("bench_files_")
    try:
        dataset = write_dataset(work / "outbox", args.records, args.files)
        print(f"{dataset.records} records in {len(dataset.files)} files", flush=True)
        with counts.installed() if args.counts else contextlib.nullcontext(counts):
            figures = await process(dataset.files, dsn, work / "data", args.chunk_size)
    finally:
        await drop_database(name)
        shutil.rmtree(work, ignore_errors=True)
    seconds = figures["seconds"]
    cpu = figures["service_cpu_s"] + figures["reader_cpu_s"] + figures["backends_cpu_s"]
    print(
        f"processed {figures['records']:.0f} records in {seconds:.1f} s: "
        f"{figures['records'] / seconds:,.0f} records/s\n"
        f"CPU seconds: service {figures['service_cpu_s']:.1f}, reader process "
        f"{figures['reader_cpu_s']:.1f}, PostgreSQL backends {figures['backends_cpu_s']:.1f}; "
        f"{cpu:.1f} in all, {1e6 * cpu / figures['records']:.0f} us a record\n"
        f"peak RSS: service {figures['service_mib']:.0f} MiB, reader process "
        f"{figures['reader_mib']:.0f} MiB; links made {figures['links']:.0f}"
    )
    if args.steps:
        for step, wall in sorted(steps.wall.items(), key=lambda item: -item[1]):
            print(f"  {step:16s} wall {wall:6.1f} s   backend CPU {steps.backend[step]:6.1f} s")
    linked = counts["records linked"] or 1
    for label, value in counts.items():
        print(f"  {label:16s} {value:10,d}  ({value / linked:.2f} a record linked)")


def main() -> None:
    """Parse the arguments and run the benchmark."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=200_000)
    parser.add_argument("--files", type=int, default=8)
    parser.add_argument("--chunk-size", type=int, default=CHUNK_SIZE)  # the service default
    parser.add_argument("--steps", action="store_true", help="time each step of the store")
    parser.add_argument("--counts", action="store_true", help="count what linking did")
    args = parser.parse_args()
    lifecycle.tune_gc()  # as the service does (shared.lifecycle.run_service)
    lifecycle.limit_malloc_arenas()
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
