"""End-to-end benchmark: listings dropped into the inbox until queryable, against a bare COPY.

    .venv/bin/python -m bench.e2e.run --records 200000
    .venv/bin/python -m bench.e2e.run --records 1000000                 # the long run
    .venv/bin/python -m bench.e2e.run --records 0 --big-file-gb 1       # one 1 GB file
    .venv/bin/python -m bench.e2e.run --processors 3 --importers 2 --profile /tmp/prof

It writes the files first (untimed), starts an isolated stack (own database, namespace and data
folder), copies the files into ``inbox/vehicles/`` and stops the clock when every file's batch is
committed (``import_batches``); then it COPYs the very rows the pipeline loaded into a second fresh
database with the same migrations. It prints both rates, their ratio, each service's peak RSS,
where the CPU went, and the CPU a row cost through the pipeline against the bare COPY, with the
ceiling that puts on the ratio when every core is busy.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import asyncpg

from bench.e2e import cpu, profiling
from bench.e2e.baseline import BaselineResult, bare_copy, fetch_rows
from bench.e2e.dlt_merge import DltResult, dlt_merge
from bench.e2e.listings import Dataset, write_dataset
from bench.e2e.stack import REPO, Stack, drop_files
from shared.events import RecordType


@dataclass
class Outcome:
    """The figures of one benchmark run."""

    records_in: int
    files: int
    input_mb: float
    rows_expected: int
    rows_loaded: int
    failed_records: int
    e2e_s: float
    e2e_rows_per_s: float
    copy_s: float
    copy_rows_per_s: float
    ratio: float
    peak_rss_mb: dict[str, float | None]
    exit_codes: dict[str, int | None]
    processors: int
    importers: int
    machine: dict[str, Any]
    cpu_s: dict[str, float]  # CPU seconds while loading, by service and PostgreSQL client
    copy_cpu_s: dict[str, float]  # the bare COPY's CPU seconds: its backend, the client
    dlt: dict[str, Any] | None = None  # dlt merging the same files (--dlt): rows, s, CPU


def machine() -> dict[str, Any]:
    """Return cores, memory, CPU model and the load average (the machine is shared)."""
    cpu = next(
        (line.split(":", 1)[1].strip() for line in _lines("/proc/cpuinfo") if "model name" in line),
        platform.processor(),
    )
    mem = next((line.split()[1] for line in _lines("/proc/meminfo") if "MemTotal" in line), "0")
    return {
        "nproc": os.cpu_count(),
        "memory_gib": round(int(mem) / 1024**2, 1),
        "cpu": cpu,
        "loadavg": " ".join(Path("/proc/loadavg").read_text().split()[:3]),
    }


def _lines(path: str) -> list[str]:
    try:
        return Path(path).read_text().splitlines()
    except OSError:
        return []


async def wait_imported(dsn: str, batches: int, timeout_s: float) -> None:
    """Poll ``import_batches`` until ``batches`` batches are committed."""
    conn = await asyncpg.connect(dsn)
    try:
        deadline = time.monotonic() + timeout_s
        while int(await conn.fetchval("SELECT count(*) FROM import_batches")) < batches:
            if time.monotonic() > deadline:
                msg = f"not every file was imported within {timeout_s}s"
                raise TimeoutError(msg)
            await asyncio.sleep(0.2)  # polling the database from outside the stack
        rows = await conn.fetchval("SELECT count(*) FROM vehicles")
    finally:
        await conn.close()
    print(f"  all {batches} batches committed; {rows} rows in vehicles", flush=True)


def count_failed(data: Path) -> int:
    """Return how many invalid records the processor kept under ``failed/``."""
    folder_glob = "failed/*/validation_errors/vehicles/*.jsonl"
    return sum(len(p.read_bytes().splitlines()) for p in data.glob(folder_glob))


async def run_pipeline(args: argparse.Namespace, dataset: Dataset, work: Path) -> dict[str, Any]:
    """Start the stack, drop the files, time the load; return the pipeline-side figures."""
    stack = await Stack.create(work / "stack", source=args.source)
    recorders: list[profiling.Recorder] = []
    try:
        stack.start(args.processors, args.importers)
        await stack.wait_started()
        if args.profile:
            pids = {s.label: s.proc.pid for s in stack.services}
            recorders = profiling.start(pids, Path(args.profile))
        print(f"stack up ({len(stack.services)} processes); dropping files", flush=True)
        watcher = await asyncpg.connect(stack.dsn)
        try:
            before = await cpu.sample(stack, watcher)
            started = time.perf_counter()
            drop_files(dataset.files, stack.data / "inbox" / "vehicles")
            await wait_imported(stack.dsn, len(dataset.files), args.timeout_s)
            seconds = time.perf_counter() - started
            spent = cpu.spent(before, await cpu.sample(stack, watcher))
        finally:
            await watcher.close()
        peaks = stack.peak_memory_mb()
        profiling.stop(recorders)
        codes = stack.stop()
        rows = await fetch_rows(stack.dsn, RecordType.VEHICLES)
        failed = count_failed(stack.data)
    finally:
        profiling.stop(recorders)
        await stack.destroy(keep_files=args.keep)
    if recorders:
        print(profiling.report(recorders), flush=True)
    return {
        "seconds": seconds, "rows": rows, "peaks": peaks, "codes": codes, "failed": failed,
        "cpu": spent,
    }  # fmt: skip


async def main_async(args: argparse.Namespace) -> Outcome:
    """Run the whole benchmark and return its figures."""
    work = Path(args.workdir or tempfile.mkdtemp(prefix="bench-e2e-"))
    files = 1 if args.one_file else args.files
    began = time.perf_counter()
    dataset = write_dataset(
        work / "outbox",
        args.records,
        files,
        big_file_gb=args.big_file_gb,
        near_rate=args.relisted_rate,
    )
    print(
        f"wrote {dataset.records} records ({dataset.unique_valid} distinct valid, "
        f"{dataset.invalid} invalid, {dataset.duplicates} duplicates, {dataset.relisted} "
        f"relisted by another source) in {len(dataset.files)} "
        f"files, {dataset.bytes_written / 2**20:.1f} MiB, in {time.perf_counter() - began:.1f}s",
        flush=True,
    )
    info = machine()
    dlt: DltResult | None = None
    try:
        pipeline = await run_pipeline(args, dataset, work)
        if args.dlt:
            dlt = await dlt_merge(dataset.files)
    finally:
        if args.workdir is None and not args.keep:  # our own temporary folder: the files go
            await asyncio.to_thread(shutil.rmtree, work / "outbox", True)
    baseline = BaselineResult(0, 0.0)
    if not args.skip_baseline:
        baseline = await bare_copy(pipeline["rows"], source=args.source)
    rows_loaded = len(pipeline["rows"])
    e2e_rate = rows_loaded / pipeline["seconds"]
    return Outcome(
        records_in=dataset.records,
        files=len(dataset.files),
        input_mb=round(dataset.bytes_written / 2**20, 1),
        rows_expected=dataset.unique_valid,
        rows_loaded=rows_loaded,
        failed_records=pipeline["failed"],
        e2e_s=round(pipeline["seconds"], 2),
        e2e_rows_per_s=round(e2e_rate),
        copy_s=round(baseline.seconds, 2),
        copy_rows_per_s=round(baseline.rate),
        ratio=round(e2e_rate / baseline.rate, 3) if baseline.rate else 0.0,
        peak_rss_mb={k: None if v is None else round(v, 1) for k, v in pipeline["peaks"].items()},
        exit_codes=pipeline["codes"],
        processors=args.processors,
        importers=args.importers,
        machine={**info, "loadavg_after": machine()["loadavg"]},
        cpu_s={label: round(v, 1) for label, v in pipeline["cpu"].items()},
        copy_cpu_s={
            "backend": round(baseline.backend_cpu_s, 1),
            "client": round(baseline.client_cpu_s, 1),
        },
        dlt=None if dlt is None else _dlt_figures(dlt, e2e_rate),
    )


def _dlt_figures(dlt: DltResult, e2e_rate: float) -> dict[str, Any]:
    return {
        "version": dlt.version,
        "rows": dlt.rows,
        "seconds": round(dlt.seconds, 2),
        "rows_per_s": round(dlt.rate),
        "pipeline_over_dlt": round(e2e_rate / dlt.rate, 2) if dlt.rate else 0.0,
        "cpu_s": {"client": round(dlt.client_cpu_s, 1), "backend": round(dlt.backend_cpu_s, 1)},
    }


def render(outcome: Outcome) -> str:
    """Return the human summary of a run."""
    lines = [
        f"machine: {outcome.machine['nproc']} cores, {outcome.machine['memory_gib']} GiB, "
        f"{outcome.machine['cpu']}; load {outcome.machine['loadavg']} -> "
        f"{outcome.machine['loadavg_after']}",
        f"records in: {outcome.records_in} in {outcome.files} files ({outcome.input_mb} MiB); "
        f"rows loaded {outcome.rows_loaded} (expected {outcome.rows_expected}); "
        f"failed records kept {outcome.failed_records}",
        f"end to end: {outcome.e2e_s}s, {outcome.e2e_rows_per_s} rows/s "
        f"({outcome.processors} processor(s), {outcome.importers} importer(s))",
        f"bare COPY:  {outcome.copy_s}s, {outcome.copy_rows_per_s} rows/s (one connection)",
        f"ratio end-to-end / bare COPY: {outcome.ratio} (target >= 0.5)",
        "peak RSS (VmHWM) per service, MiB (target < 300):",
    ]
    lines += [f"  {label:12s} {mb}" for label, mb in outcome.peak_rss_mb.items()]
    lines += cpu.render(outcome.cpu_s, outcome.e2e_s)
    lines += cpu.per_row(outcome.cpu_s, outcome.copy_cpu_s, outcome.rows_loaded, outcome.copy_s)
    if outcome.dlt:
        d = outcome.dlt
        cpu_us = 1e6 * (d["cpu_s"]["client"] + d["cpu_s"]["backend"]) / max(d["rows"], 1)
        lines += [
            f"dlt {d['version']} merge on the natural key: {d['seconds']}s, {d['rows_per_s']} "
            f"rows/s ({d['rows']} rows: dlt validates nothing), CPU a row {cpu_us:.0f} us",
            f"ratio end-to-end / dlt merge: {d['pipeline_over_dlt']} (target >= 2)",
        ]
    if outcome.rows_loaded != outcome.rows_expected:
        lines.append("WARNING: rows loaded differ from the distinct valid records generated")
    return "\n".join(lines)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Return the command-line options."""
    parser = argparse.ArgumentParser(prog="python -m bench.e2e.run", description=__doc__)
    parser.add_argument("--records", type=int, default=200_000, help="listings (default 200000)")
    parser.add_argument("--files", type=int, default=8, help="spread over this many files")
    parser.add_argument("--one-file", action="store_true", help="put every listing in one file")
    parser.add_argument("--big-file-gb", type=float, default=0.0, help="add one file this big")
    parser.add_argument(
        "--relisted-rate", type=float, default=0.02, help="share of near duplicates (relisted)"
    )
    parser.add_argument("--processors", type=int, default=1, help="processor replicas")
    parser.add_argument("--importers", type=int, default=1, help="importer replicas")
    parser.add_argument("--timeout-s", type=float, default=3600.0, help="give up after this")
    parser.add_argument("--workdir", help="where files go (default: a new temporary folder)")
    parser.add_argument("--keep", action="store_true", help="keep the stack's data folder")
    parser.add_argument("--profile", metavar="DIR", help="py-spy every service into DIR")
    parser.add_argument(
        "--source", default=str(REPO), help="code to run (default: this repository)"
    )
    parser.add_argument("--skip-baseline", action="store_true", help="skip the bare COPY")
    parser.add_argument(
        "--dlt", action="store_true", help="also merge the same files with dlt ('.[bench]')"
    )
    parser.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    args = parser.parse_args(argv)
    args.source = Path(args.source).resolve()
    return args


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark from the command line."""
    args = parse_args(argv)
    outcome = asyncio.run(main_async(args))
    print(render(outcome))
    if args.json:
        Path(args.json).write_text(json.dumps(asdict(outcome), indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
