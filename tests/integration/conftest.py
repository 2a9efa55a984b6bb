"""Fixtures shared by the integration tests of several services."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import asyncpg
import pytest

from services.processor.schema import MIGRATIONS as PROCESSOR_MIGRATIONS
from shared import db, subjects
from shared.bus import Bus
from shared.events import BatchProcessed
from shared.settings import PipelineSettings
from tests.conftest import recorded


@pytest.fixture
async def outcomes(bus: Bus) -> AsyncIterator[list[BatchProcessed]]:
    """Collect every BatchProcessed event published in this test's namespace."""
    async with recorded(bus, subjects.RECORDS_PROCESSED, BatchProcessed) as seen:
        yield seen


async def reset_processor_tables(
    settings: PipelineSettings, tables: str, *, migrate: bool = True
) -> None:
    """Apply the processor's migrations (unless ``migrate`` is False) and empty ``tables``.

    The test database is shared by the tests, so a test that counts rows starts from empty ones.
    """
    conn = await asyncpg.connect(settings.database_url.get_secret_value())
    try:
        if migrate:
            await db.apply_migrations(conn, "processor", PROCESSOR_MIGRATIONS)
        await conn.execute(f"TRUNCATE {tables}")
    finally:
        await conn.close()


async def delete_collector_buckets(bus: Bus) -> None:
    """Delete the key-value buckets a collector made in this test's namespace."""
    prefix = bus.names.namespace.replace("-", "_")
    for bucket in (
        bus.names.files_bucket,
        f"{prefix}_ratelimit",
        bus.names.schedule_bucket,
        bus.names.schedule_claims_bucket,
    ):
        with contextlib.suppress(Exception):
            await bus.js.delete_key_value(bucket)
