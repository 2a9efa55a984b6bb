"""The library baseline: dlt merging the same files into PostgreSQL on the seed's natural key.

What a Python user would write instead of this pipeline: a dlt resource that reads the dropped
files and yields each record with its SHA-256 key of make|model|year|stock number|source, loaded
with ``write_disposition="merge"`` on that key (dlt extracts, normalizes and loads through a
staging table). It validates and links nothing, so it does less work than the pipeline.

It runs as a child process (``python -m bench.e2e.dlt_merge DSN DIR FILE...``) so its CPU is
its own; its PostgreSQL sessions are named ``dlt-bench`` and sampled while they live. dlt is a
benchmark-only dependency: ``pip install -e '.[bench]'``.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import resource
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import asyncpg
import orjson

from bench.e2e.cpu import process_cpu_s
from bench.e2e.stack import create_database, drop_database

APPLICATION = "dlt-bench"
SAMPLE_S = 0.2


@dataclass(frozen=True)
class DltResult:
    """Rows dlt holds after the merge, its wall time and CPU (its process, its backends)."""

    rows: int
    seconds: float
    client_cpu_s: float
    backend_cpu_s: float
    version: str

    @property
    def rate(self) -> float:
        """Return rows per second."""
        return self.rows / self.seconds if self.seconds else 0.0


def _natural_key(record: dict[str, Any]) -> str:
    parts = [record.get(k) or "" for k in ("make", "model", "year", "stockNumber", "sourceName")]
    return hashlib.sha256("|".join(map(str, parts)).lower().encode()).hexdigest()


def _records(files: list[Path]) -> Iterator[dict[str, Any]]:
    for path in files:
        for record in orjson.loads(path.read_bytes()):
            if isinstance(record, dict):
                yield {**record, "data_hash": _natural_key(record)}


def _credentials(dsn: str) -> dict[str, Any]:
    """Return dlt's credentials for ``dsn``; dlt insists on a password, which trust auth ignores."""
    parts = urlsplit(dsn)
    return {
        "database": parts.path.lstrip("/"),
        "username": parts.username or "postgres",
        "password": parts.password or os.environ.get("PGPASSWORD") or "unused-with-trust-auth",
        "host": parts.hostname or "127.0.0.1",
        "port": parts.port or 5432,
        "query": {"application_name": APPLICATION},
    }


def run_dlt(dsn: str, work: Path, files: list[Path]) -> dict[str, Any]:
    """Merge the files' records into ``dsn`` with dlt; return rows, seconds and dlt's version."""
    import dlt  # a benchmark-only dependency, imported in the child

    @dlt.resource(name="vehicles", write_disposition="merge", primary_key="data_hash")
    def vehicles() -> Iterator[dict[str, Any]]:
        yield from _records(files)

    pipeline = dlt.pipeline(
        pipeline_name="bench",
        pipelines_dir=str(work),
        destination=dlt.destinations.postgres(credentials=_credentials(dsn)),
        dataset_name="dlt_bench",
    )
    started = time.perf_counter()
    pipeline.run(vehicles())
    seconds = time.perf_counter() - started
    with pipeline.sql_client() as client:
        found = client.execute_sql("SELECT count(*) FROM vehicles")
    rows = int(found[0][0]) if found else 0
    return {"rows": rows, "seconds": seconds, "version": dlt.__version__}


async def _backend_cpu(dsn: str, child: asyncio.subprocess.Process) -> float:
    """Sample the CPU of the child's PostgreSQL sessions until it ends; return their total."""
    last: dict[int, float] = {}
    first: dict[int, float] = {}
    conn = await asyncpg.connect(dsn)
    try:
        while child.returncode is None:
            pids = await conn.fetch(
                "SELECT pid FROM pg_stat_activity WHERE application_name = $1", APPLICATION
            )
            for (pid,) in pids:
                seconds = process_cpu_s(pid)
                if seconds is not None:
                    first.setdefault(pid, seconds)
                    last[pid] = seconds
            try:
                await asyncio.wait_for(asyncio.shield(child.wait()), SAMPLE_S)
            except TimeoutError:
                continue
    finally:
        await conn.close()
    return sum(last[pid] - first[pid] for pid in last)


async def dlt_merge(files: list[Path]) -> DltResult:
    """Run dlt on ``files`` into a fresh database in a child process; return its figures."""
    name, dsn = await create_database("pipeline_dlt_")
    try:
        with tempfile.TemporaryDirectory(prefix="bench-dlt-") as work:
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            child = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bench.e2e.dlt_merge", dsn, work, *map(str, files),
                stdout=asyncio.subprocess.PIPE,
            )  # fmt: skip
            backend_s, (out, _) = await asyncio.gather(
                _backend_cpu(dsn, child), child.communicate()
            )
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if child.returncode != 0:
            msg = f"dlt exited with {child.returncode}"
            raise RuntimeError(msg)
        found = json.loads(out.decode().strip().splitlines()[-1])
        client_s = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        return DltResult(
            found["rows"], found["seconds"], client_s, backend_s, str(found["version"])
        )
    finally:
        await drop_database(name)


def main(argv: list[str]) -> int:
    """Child entry: merge the files and print the figures as one JSON line."""
    dsn, work, *files = argv
    print(json.dumps(run_dlt(dsn, Path(work), [Path(f) for f in files])))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
