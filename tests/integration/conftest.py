"""Fixtures shared by the integration tests of several services."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from shared import subjects
from shared.bus import Bus
from shared.events import BatchProcessed
from tests.conftest import recorded


@pytest.fixture
async def outcomes(bus: Bus) -> AsyncIterator[list[BatchProcessed]]:
    """Collect every BatchProcessed event published in this test's namespace."""
    async with recorded(bus, subjects.RECORDS_PROCESSED, BatchProcessed) as seen:
        yield seen
