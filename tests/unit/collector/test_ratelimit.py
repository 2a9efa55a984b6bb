"""Rate limits: the token bucket's arithmetic, the local limiter, the shared state's encoding."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import pytest

from services.collector.ratelimit import (
    Aimd,
    BucketState,
    KvRateLimiter,
    LocalRateLimiter,
    _decode,
    _encode,
    take,
)
from tests.unit.collector.helpers import Sleeps


def test_a_blocked_bucket_waits_out_the_block_and_keeps_its_tokens() -> None:
    """Before ``blocked_until`` nothing is taken and the wait is the rest of the block."""
    state = BucketState(tokens=2.0, ts=100.0, blocked_until=130.0)
    assert take(state, 110.0, 1.0, 2.0) == (state, 20.0)


def test_refill_is_capped_at_the_burst_and_never_negative() -> None:
    """A long pause refills to the burst only; a clock that went back refills nothing."""
    new, wait = take(BucketState(tokens=0.0, ts=0.0), 1000.0, 1.0, 3.0)
    assert (new.tokens, new.ts, wait) == (2.0, 1000.0, 0.0)
    new, wait = take(BucketState(tokens=0.5, ts=50.0, blocked_until=7.0), 40.0, 2.0, 3.0)
    assert (new.tokens, new.ts, new.blocked_until) == (0.5, 40.0, 7.0)
    assert wait == pytest.approx(0.25)  # half a token at 2 tokens a second


def test_tokens_come_at_the_rate() -> None:
    """At 2 tokens a second, a quarter of a second refills half a token."""
    new, wait = take(BucketState(tokens=0.0, ts=0.0), 0.25, 2.0, 3.0)
    assert new.tokens == pytest.approx(0.5)
    assert wait == pytest.approx(0.25)


def test_exactly_one_token_is_enough() -> None:
    """A bucket holding exactly one token lets the request through."""
    new, wait = take(BucketState(tokens=1.0, ts=5.0), 5.0, 0.1, 2.0)
    assert (new.tokens, wait) == (0.0, 0.0)


async def test_an_unknown_provider_gets_the_default_rate_and_a_full_burst() -> None:
    """A provider without a rate is paced at ``default_rate``, after a full burst."""
    sleeps = Sleeps()
    limiter = LocalRateLimiter(
        {"brave": 100.0}, burst=2.0, clock=sleeps.clock, sleep=sleeps, default_rate=0.5
    )
    for _ in range(3):
        await limiter.acquire("other")
    assert sleeps.waits == [pytest.approx(2.0)]


async def test_a_provider_s_own_rate_is_used() -> None:
    """A provider with a rate of its own is paced at it, not at the default."""
    sleeps = Sleeps()
    limiter = LocalRateLimiter({"brave": 4.0}, burst=1.0, clock=sleeps.clock, sleep=sleeps)
    await limiter.acquire("brave")
    await limiter.acquire("brave")
    assert sleeps.waits == [pytest.approx(0.25)]


def test_the_bucket_name_is_the_namespace_s() -> None:
    """One bucket per namespace, named with underscores."""
    bus = SimpleNamespace(names=SimpleNamespace(namespace="pipe-line-2"))
    assert KvRateLimiter.bucket_name(bus) == "pipe_line_2_ratelimit"  # type: ignore[arg-type]


async def test_a_shorter_block_does_not_shorten_a_longer_one() -> None:
    """Two Retry-After answers: the later end holds."""
    sleeps = Sleeps()
    limiter = LocalRateLimiter({"brave": 10.0}, clock=sleeps.clock, sleep=sleeps)
    await limiter.block("brave", 30.0)
    await limiter.block("brave", 5.0)
    await limiter.acquire("brave")
    assert sleeps.waits == [pytest.approx(30.0)]


def test_the_shared_state_round_trips_and_an_old_entry_has_no_block() -> None:
    """Encoded then decoded gives the same state; an entry without a block is not blocked."""
    state = BucketState(tokens=1.5, ts=12.25, blocked_until=99.5)
    assert _decode(_encode(state)) == state
    assert _decode(b'{"tokens": 1, "ts": 2}') == BucketState(1.0, 2.0, 0.0)
    assert _decode(b"") is None
    assert _decode(None) is None


async def test_aimd_lets_the_whole_part_of_the_limit_in() -> None:
    """A limit of 2.9 lets two in at once; the third waits until one leaves."""
    aimd = Aimd(maximum=4, limit=2.9)
    entered: list[int] = []

    async def enter(number: int, hold: asyncio.Event) -> None:
        async with aimd:
            entered.append(number)
            await hold.wait()

    holds = [asyncio.Event() for _ in range(3)]
    tasks = [asyncio.create_task(enter(n, holds[n])) for n in range(3)]
    for _ in range(5):
        await asyncio.sleep(0)  # let every task reach the limit (scheduling, not a wait)
    assert entered == [0, 1]
    assert aimd.in_flight == 2
    holds[0].set()
    for _ in range(5):
        await asyncio.sleep(0)
    assert entered == [0, 1, 2]
    for hold in holds:
        hold.set()
    await asyncio.gather(*tasks)
    assert aimd.in_flight == 0


def test_aimd_never_grows_past_its_maximum() -> None:
    """Successes at the maximum keep it there."""
    aimd = Aimd(maximum=3, limit=3.0)
    aimd.on_success()
    assert aimd.limit == 3.0
