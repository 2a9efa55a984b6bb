"""The end-to-end benchmark's CPU accounting: services with their children, PostgreSQL by client,
and the bare COPY's CPU set against the pipeline's."""

from __future__ import annotations

import hashlib
import os
import time
from types import SimpleNamespace
from typing import Any

import asyncpg
import orjson
import pytest

from bench.e2e import cpu
from bench.e2e.baseline import bare_copy
from services.importer.queries import to_record
from shared.events import RecordType
from shared.records import processed_columns
from tests.integration.test_importer import vehicle_line

pytestmark = pytest.mark.postgres


async def test_cpu_is_charged_to_the_service_and_to_its_postgres_sessions(
    database_url: str,
) -> None:
    """Work done between two samples shows under the service's label and its session's name."""
    service = SimpleNamespace(label="processor", proc=SimpleNamespace(pid=os.getpid()))
    stack: Any = SimpleNamespace(services=[service])
    watcher = await asyncpg.connect(database_url)
    worker = await asyncpg.connect(database_url, server_settings={"application_name": "importer"})
    try:
        before = await cpu.sample(stack, watcher)
        digest = b""
        for _ in range(200_000):  # CPU in this process
            digest = hashlib.sha256(digest).digest()
        await worker.fetchval("SELECT count(*) FROM generate_series(1, 3000000)")  # in its backend
        totals = cpu.spent(before, await cpu.sample(stack, watcher))
    finally:
        await worker.close()
        await watcher.close()
    assert totals["processor"] > 0
    assert totals["postgres: importer"] > 0
    assert cpu.SERVER in totals  # the server's own processes are sampled too
    lines = cpu.render(totals, wall_s=10.0)
    assert lines[0].startswith(f"CPU seconds while loading ({os.cpu_count()} cores x 10.0 s")
    assert lines[-1].lstrip().startswith("total")


TICK_S = 0.02  # /proc reports CPU time in clock ticks (10 ms)


async def test_the_bare_copy_loads_the_rows_and_reads_the_cpu_of_both_sides() -> None:
    """Every row is COPYed, and the backend's CPU (and this client's) is counted."""
    columns = processed_columns(RecordType.VEHICLES)
    rows = [to_record(columns, orjson.loads(orjson.dumps(vehicle_line(i)))) for i in range(5000)]
    client_before = time.process_time()
    result = await bare_copy(rows)
    client_spent = time.process_time() - client_before
    assert result.rows == 5000
    assert result.seconds > 0
    assert result.backend_cpu_s > 0  # the generated search vectors and indexes cost CPU
    # One backend cannot spend more CPU than the COPY's wall time (give or take a clock tick),
    # and the client's share is part of what this process spent around the call.
    assert result.backend_cpu_s <= result.seconds + TICK_S
    assert 0 < result.client_cpu_s <= client_spent


def test_the_cpu_a_row_costs_is_compared_with_the_bare_copy() -> None:
    """The pipeline's CPU a row against the COPY's, and the ratio it allows on every core."""
    lines = cpu.per_row(
        {"processor": 30.0, "importer": 10.0}, {"backend": 8.0, "client": 2.0}, 100_000, 10.0
    )
    cores = os.cpu_count() or 1
    assert lines == [
        "CPU a row: pipeline 400 us, bare COPY 100 us (backend 80, client 20): 4.0 x",
        f"ratio ceiling with every core busy: {cores} x 10.0 s / 40.0 CPU-s = {cores / 4:.3f}",
    ]
    assert cpu.per_row({"processor": 1.0}, {}, 100, 1.0) == []  # no baseline (--skip-baseline)
