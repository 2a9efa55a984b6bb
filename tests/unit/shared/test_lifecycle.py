"""Running a service: exit codes and the runtime it gets."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Iterator

import pytest

from shared import lifecycle
from shared.errors import ConfigError


@pytest.fixture
def default_gc() -> Iterator[None]:
    """Restore the interpreter's collector thresholds after the test."""
    saved = gc.get_threshold()
    yield
    gc.set_threshold(*saved)


@pytest.mark.usefixtures("default_gc")
def test_a_service_runs_with_the_tuned_collector() -> None:
    """The young-generation threshold is raised before the service starts; a clean stop is 0."""
    seen: list[tuple[int, int, int]] = []

    async def serve(stop: asyncio.Event) -> None:
        seen.append(gc.get_threshold())

    assert lifecycle.run_service(serve, "probe") == 0
    assert seen[0][0] == lifecycle.GC_YOUNG_THRESHOLD


@pytest.mark.usefixtures("default_gc")
def test_an_unusable_configuration_exits_2() -> None:
    """A ConfigError at start-up is one line and exit code 2, not a traceback."""

    async def serve(stop: asyncio.Event) -> None:
        raise ConfigError("DATABASE_URL is not set")

    assert lifecycle.run_service(serve, "probe") == 2
