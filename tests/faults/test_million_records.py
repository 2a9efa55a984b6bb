"""A file of 1,000,000 records dropped into the running stack: each one is accounted for.

Most of the file is hostile or repeated (non-objects, wrong types, broken rules, exact repeats
of a few thousand listings), so the database side stays small while the processor reads every
value. Every record must end as a row, an exact duplicate of one, or a failed record with its
reason, and no service may grow past ``MAX_RSS_MB`` of resident memory on the way.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import asyncpg
import orjson
import pytest

from bench.e2e.stack import peak_rss_mb
from tests.faults.data import flood
from tests.faults.stack import Stack
from tests.polling import eventually

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.nats,
    pytest.mark.postgres,
    pytest.mark.slow,
    pytest.mark.timeout(600),
]

TOTAL = int(os.environ.get("FLOOD_RECORDS", "1000000"))
DISTINCT = 3000
VALID_SHARE = 0.3  # 3 values in 10 are listings (3,000 distinct, each repeated ~100 times)
MAX_RSS_MB = 300


def _write_json_array(path: Path, values: Any) -> int:
    """Write the values as one JSON array, streamed; return the file's size in bytes."""
    with path.open("wb") as handle:
        handle.write(b"[")
        for index, value in enumerate(values):
            handle.write(b",\n" if index else b"\n")
            handle.write(orjson.dumps(value))
        handle.write(b"\n]\n")
    return path.stat().st_size


def _peak_rss_mb(pid: int) -> float:
    """Return the peak resident memory of a live service and its children so far, in MiB."""
    peak = peak_rss_mb(pid)
    assert peak is not None, f"pid {pid} has ended"
    return peak


async def _imported(stack: Stack) -> bool:
    conn = await asyncpg.connect(stack.env["DATABASE_URL"])
    try:
        if not await conn.fetchval("SELECT to_regclass('import_batches') IS NOT NULL"):
            return False
        return bool(await conn.fetchval("SELECT count(*) FROM import_batches"))
    finally:
        await conn.close()


def _validation_failures(data: Path) -> tuple[list[int], int]:
    """Return the positions of the records that failed validation, and how many lack a reason."""
    positions: list[int] = []
    without_reason = 0
    for path in data.glob("failed/*/validation_errors/*/*.jsonl"):
        with path.open("rb") as handle:
            for line in handle:
                item = orjson.loads(line)
                errors = item.get("errors") or []
                if not errors or not all(
                    error.get("rule") and error.get("message") for error in errors
                ):
                    without_reason += 1
                positions.append(int(item["position"]))
    return positions, without_reason


def _processing_totals(data: Path) -> dict[str, Any]:
    reports = list(data.glob("processed/*/processing_report.json"))
    assert len(reports) == 1, reports
    return dict(orjson.loads(reports[0].read_bytes())["totals"])


async def test_a_million_records_are_all_accounted_for(tmp_path: Path) -> None:
    """1,000,000 records: rows + duplicates + failed-with-reason add up, memory stays bounded."""
    stack = await Stack.create(tmp_path)
    source = tmp_path / "flood.json"
    size_bytes = _write_json_array(source, flood(TOTAL, DISTINCT, VALID_SHARE))
    try:
        stack.start_all()
        started = time.monotonic()
        source.replace(stack.data / "inbox" / "vehicles" / "flood.json")
        await eventually(lambda: _imported(stack), timeout_s=540, interval_s=1.0)
        elapsed_s = time.monotonic() - started
        peaks = {name: _peak_rss_mb(proc.pid) for name, proc in stack.procs.items()}
        alive = stack.alive()
        counts = await stack.row_counts()
        totals = _processing_totals(stack.data)
        failed_positions, without_reason = _validation_failures(stack.data)
        import_errors = list(stack.data.glob("failed/*/import_errors/*/*.jsonl"))
    finally:
        await stack.destroy()

    load = os.getloadavg()[0]
    print(  # the figure the brief asks for; shown with -s or -rP
        f"\nflood: {TOTAL:,} records, {size_bytes / 2**20:.0f} MiB, drop to imported "
        f"{elapsed_s:.1f} s ({TOTAL / elapsed_s:,.0f} records/s), peak RSS MiB "
        + ", ".join(f"{name} {mb:.0f}" for name, mb in sorted(peaks.items()))
        + f", load {load:.2f}"
    )
    valid = sum(1 for i in range(TOTAL) if i % 10 < round(VALID_SHARE * 10))
    hostile = {i for i in range(TOTAL) if i % 10 >= round(VALID_SHARE * 10)}
    assert all(alive.values()), alive
    assert totals["records_read"] == TOTAL
    assert counts["vehicles"] == DISTINCT == totals["records_valid"]
    assert totals["duplicates_in_batch"] == valid - DISTINCT
    assert len(failed_positions) == len(hostile) == totals["records_invalid"]
    assert set(failed_positions) == hostile  # each hostile value failed once, none of the others
    assert without_reason == 0
    assert import_errors == []
    assert counts["vehicles"] + totals["duplicates_in_batch"] + len(failed_positions) == TOTAL
    assert sum(totals["errors_by_reason"].values()) >= len(hostile)
    assert max(peaks.values()) < MAX_RSS_MB, peaks
