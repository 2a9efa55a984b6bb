"""The end-to-end benchmark's CPU accounting: services with their children, PostgreSQL by client."""

from __future__ import annotations

import hashlib
import os
from types import SimpleNamespace
from typing import Any

import asyncpg
import pytest

from bench.e2e import cpu

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
