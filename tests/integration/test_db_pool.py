"""The services' connection pool: session settings every pooled connection carries."""

from __future__ import annotations

import pytest

from shared import db
from shared.settings import PipelineSettings

pytestmark = pytest.mark.postgres


async def test_pooled_connections_run_without_jit(settings: PipelineSettings) -> None:
    """Every connection of the pool has JIT off, not only the first one."""
    async with (
        db.create_pool(settings.database_url, min_size=2, max_size=2) as pool,
        pool.acquire() as one,
        pool.acquire() as other,
    ):
        assert await one.fetchval("SHOW jit") == "off"
        assert await other.fetchval("SHOW jit") == "off"


async def test_pooled_connections_name_their_service(settings: PipelineSettings) -> None:
    """pg_stat_activity says which service a session belongs to."""
    async with (
        db.create_pool(settings.database_url, application_name="processor") as pool,
        pool.acquire() as conn,
    ):
        name = await conn.fetchval(
            "SELECT application_name FROM pg_stat_activity WHERE pid = pg_backend_pid()"
        )
        assert name == "processor"
