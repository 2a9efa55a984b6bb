"""Fixtures of the collector's unit tests: the fake providers and a polite caller factory."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import aiohttp
import pytest

from services.collector.proxies import ProxyPool
from services.collector.ratelimit import Aimd, LocalRateLimiter
from services.collector.sources.http import Caller, Politeness
from services.collector.sources.usage import Usage
from tests.fakes.providers import Fakes, start_fakes
from tests.unit.collector.helpers import Sleeps


@pytest.fixture
async def fakes() -> AsyncIterator[Fakes]:
    """Start every fake provider for one test."""
    async with start_fakes() as running:
        yield running


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    """Return one HTTP session, closed after the test."""
    async with aiohttp.ClientSession() as opened:
        yield opened


@pytest.fixture
def sleeps() -> Sleeps:
    """Return the recording sleep used by callers made in this test."""
    return Sleeps()


MakeCaller = Callable[..., Caller]


@pytest.fixture
def make_caller(session: aiohttp.ClientSession, sleeps: Sleeps) -> MakeCaller:
    """Return a factory of callers with a generous rate limit and no real waiting."""

    def make(provider: str, *, attempts: int = 3, timeout_s: float = 5.0) -> Caller:
        polite = Politeness(
            limiter=LocalRateLimiter(
                {}, burst=100, clock=sleeps.clock, sleep=sleeps, default_rate=1000
            ),
            aimd=Aimd(maximum=4),
            proxies=ProxyPool([]),
            attempts=attempts,
            base_wait_s=0.01,
            max_wait_s=30.0,
            sleep=sleeps,
        )
        return Caller(provider, session, polite, Usage(provider), timeout_s)

    return make
