"""Fixtures shared by the integration tests of several services."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from shared import subjects
from shared.bus import Bus
from shared.events import BatchProcessed


@pytest.fixture
async def outcomes(bus: Bus) -> AsyncIterator[list[BatchProcessed]]:
    """Collect every BatchProcessed event published in this test's namespace."""
    seen: list[BatchProcessed] = []

    async def collect(event: BatchProcessed) -> None:
        seen.append(event)

    consumer = await bus.consume(subjects.RECORDS_PROCESSED, "probe", BatchProcessed, collect)
    yield seen
    await consumer.stop(grace_s=1)
