"""Token buckets, AIMD concurrency, proxy rotation and the classification of answers."""

from __future__ import annotations

import email.utils

import pytest

from services.collector.proxies import ProxyPool
from services.collector.ratelimit import Aimd, BucketState, LocalRateLimiter, take
from services.collector.sources.errors import (
    ProviderAuthError,
    ProviderBadRequest,
    TransientHttpError,
    classify,
    parse_retry_after,
)
from tests.unit.collector.helpers import Sleeps


class Clock:
    """A settable clock."""

    def __init__(self, now: float = 1000.0) -> None:
        """Start at ``now``."""
        self.now = now

    def __call__(self) -> float:
        """Return the current time."""
        return self.now


def test_take_uses_the_burst_then_asks_to_wait() -> None:
    """A full bucket gives ``burst`` tokens at once, then the wait for the next token."""
    state = BucketState(tokens=2.0, ts=0.0)
    state, wait1 = take(state, 0.0, rate=0.5, burst=2.0)
    state, wait2 = take(state, 0.0, rate=0.5, burst=2.0)
    state, wait3 = take(state, 0.0, rate=0.5, burst=2.0)
    assert (wait1, wait2) == (0.0, 0.0)
    assert wait3 == pytest.approx(2.0)
    _, wait4 = take(state, 2.0, rate=0.5, burst=2.0)
    assert wait4 == 0.0


def test_take_respects_a_block() -> None:
    """While blocked (Retry-After) no token is given, whatever the bucket holds."""
    state = BucketState(tokens=2.0, ts=0.0, blocked_until=10.0)
    _, wait = take(state, 4.0, rate=1.0, burst=2.0)
    assert wait == pytest.approx(6.0)


async def test_local_limiter_paces_requests() -> None:
    """Five requests at 1/s with a burst of 2 wait for three more tokens."""
    clock, sleeps = Clock(), Sleeps()

    async def advance(seconds: float) -> None:
        await sleeps(seconds)
        clock.now += seconds

    limiter = LocalRateLimiter({"brave": 1.0}, burst=2.0, clock=clock, sleep=advance)
    for _ in range(5):
        await limiter.acquire("brave")
    assert sum(sleeps.waits) == pytest.approx(3.0)


async def test_local_limiter_block_delays_the_next_request() -> None:
    """``block`` (a Retry-After) delays the next token by that long."""
    clock, sleeps = Clock(), Sleeps()

    async def advance(seconds: float) -> None:
        await sleeps(seconds)
        clock.now += seconds

    limiter = LocalRateLimiter({"tavily": 10.0}, clock=clock, sleep=advance)
    await limiter.block("tavily", 5.0)
    await limiter.acquire("tavily")
    assert sleeps.waits == [pytest.approx(5.0)]


def test_aimd_halves_on_429_and_grows_slowly() -> None:
    """The limit halves on a 429 and grows by about one per ``limit`` successes."""
    aimd = Aimd(maximum=8, limit=8.0)
    aimd.on_throttled()
    assert aimd.limit == 4.0
    for _ in range(4):
        aimd.on_success()
    assert 4.9 < aimd.limit < 5.1
    for _ in range(5):
        aimd.on_throttled()
    assert aimd.limit == 1.0


async def test_aimd_caps_requests_in_flight() -> None:
    """With a limit of one, a second entry waits until the first leaves."""
    aimd = Aimd(maximum=4)
    async with aimd:
        assert aimd.in_flight == 1
    assert aimd.in_flight == 0


def test_proxy_is_rested_after_failures_then_retried() -> None:
    """A proxy failing ``fail_limit`` times rests for ``rest_s``, then is used again."""
    clock = Clock(0.0)
    pool = ProxyPool(["http://a:1", "http://u:p@b:2"], fail_limit=2, rest_s=60, clock=clock)
    assert pool.pick() == "http://a:1"
    pool.report("http://a:1", ok=False)
    pool.report("http://a:1", ok=False)
    assert pool.resting() == ["http://a:1"]
    assert {pool.pick() for _ in range(3)} == {"http://u:p@b:2"}
    clock.now = 61.0
    assert pool.resting() == []
    assert {pool.pick() for _ in range(2)} == {"http://a:1", "http://u:p@b:2"}


def test_proxy_success_resets_the_failure_count() -> None:
    """Failures must be consecutive to rest a proxy."""
    pool = ProxyPool(["http://a:1"], fail_limit=2, clock=Clock(0.0))
    pool.report("http://a:1", ok=False)
    pool.report("http://a:1", ok=True)
    pool.report("http://a:1", ok=False)
    assert pool.resting() == []


def test_all_proxies_resting_uses_the_one_back_first() -> None:
    """When every proxy rests, the one whose rest ends first is used rather than none."""
    clock = Clock(0.0)
    pool = ProxyPool(["http://a:1", "http://b:2"], fail_limit=1, rest_s=10, clock=clock)
    pool.report("http://a:1", ok=False)
    clock.now = 5.0
    pool.report("http://b:2", ok=False)
    assert pool.pick() == "http://a:1"


def test_no_proxies_means_direct() -> None:
    """Without ``COLLECTOR_PROXIES`` requests go direct."""
    assert ProxyPool([]).pick() is None


def test_retry_after_seconds_date_and_brave_reset() -> None:
    """Retry-After as seconds or HTTP date, else Brave's first X-RateLimit-Reset value."""
    assert parse_retry_after({"Retry-After": "3"}) == 3.0
    date = email.utils.formatdate(1_000_030, usegmt=True)
    assert parse_retry_after({"Retry-After": date}, now=1_000_000) == pytest.approx(30.0)
    assert parse_retry_after({"X-RateLimit-Reset": "1, 1419704"}) == 1.0
    assert parse_retry_after({}) is None


@pytest.mark.parametrize(
    ("status", "body", "error"),
    [
        (401, "<html>401</html>", ProviderAuthError),
        (403, '{"error": {"message": "forbidden"}}', ProviderAuthError),
        (422, '{"error": {"code": "SUBSCRIPTION_TOKEN_INVALID"}}', ProviderAuthError),
        (422, '{"error": {"code": "VALIDATION"}}', ProviderBadRequest),
        (400, '{"detail": {"error": "bad"}}', ProviderBadRequest),
        (432, "{}", ProviderBadRequest),
        (408, "", TransientHttpError),
        (429, "", TransientHttpError),
        (502, "", TransientHttpError),
        (524, "<html>", TransientHttpError),
    ],
)
def test_classify_statuses(status: int, body: str, error: type[Exception]) -> None:
    """Only 408, 429, 5xx and 524 are transient; bad keys and bad requests are permanent."""
    with pytest.raises(error):
        classify("p", status, {}, body)


def test_classify_passes_2xx() -> None:
    """A 201 (Apify's run-sync) is a success."""
    classify("apify", 201, {}, "[]")
