"""The processor benchmark on the end-to-end files runs the real path and accounts its CPU."""

from __future__ import annotations

from pathlib import Path

import asyncpg
import pytest

from bench.e2e.listings import write_dataset
from bench.processor import bench_files
from tests.conftest import ADMIN_DSN, dsn_for, unique

pytestmark = pytest.mark.postgres


async def test_every_record_is_processed_and_each_side_is_charged(tmp_path: Path) -> None:
    """Records read and processed lines match the files; service, reader and backends used CPU."""
    dataset = write_dataset(tmp_path / "outbox", 600, 2)
    name = unique("bench_files_")
    admin = await asyncpg.connect(ADMIN_DSN)
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        with bench_files.LinkCounts().installed() as counts:
            figures = await bench_files.process(
                dataset.files, dsn_for(name), tmp_path / "data", 100
            )
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()
    assert figures["records"] == 600
    lines = sum(
        len(path.read_bytes().splitlines())
        for path in (tmp_path / "data" / "processed").rglob("*.jsonl")
    )
    assert lines == figures["valid"] >= dataset.unique_valid  # cross-file repeats are rows too
    assert figures["service_cpu_s"] > 0
    assert figures["reader_cpu_s"] > 0
    assert figures["backends_cpu_s"] > 0
    assert figures["service_mib"] > 0
    assert figures["reader_mib"] > 0
    # Every valid row is linked once; the gate sees only candidates the probes returned.
    assert counts["records linked"] <= figures["valid"]
    assert counts["candidates"] >= counts["pairs gated"] >= counts["pairs passed"] > 0
    assert figures["links"] > 0
    assert bench_files.linker.with_evidence is bench_files.scoring.with_evidence  # put back
