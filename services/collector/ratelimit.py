"""Politeness per provider: a token bucket (local or shared through NATS KV) and AIMD concurrency.

The shared bucket keeps ``{"tokens", "ts", "blocked_until"}`` per provider in the namespace's
``<ns>_ratelimit`` key-value bucket and changes it only with compare-and-set
(``kv.update(key, value, last=revision)``), so several collector replicas draw from one budget.
A ``Retry-After`` seen by one replica blocks the provider for all of them.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

import nats.js.errors
import orjson
from nats.js.kv import KeyValue

from shared.bus import Bus

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]


@dataclass(frozen=True)
class BucketState:
    """Tokens left at wall-clock time ``ts``, and a provider-imposed pause until a time."""

    tokens: float
    ts: float
    blocked_until: float = 0.0


def take(state: BucketState, now: float, rate: float, burst: float) -> tuple[BucketState, float]:
    """Refill ``state`` to ``now`` and take one token; return the new state and the wait.

    A wait of 0 means the token was taken; otherwise the state is only refilled and the caller
    must wait that many seconds before asking again.
    """
    if now < state.blocked_until:
        return state, state.blocked_until - now
    tokens = min(burst, state.tokens + max(0.0, now - state.ts) * rate)
    if tokens >= 1.0:
        return BucketState(tokens - 1.0, now, state.blocked_until), 0.0
    return BucketState(tokens, now, state.blocked_until), (1.0 - tokens) / rate


class RateLimiter(Protocol):
    """What a client needs from a rate limiter."""

    async def acquire(self, provider: str) -> None:
        """Wait until a request to ``provider`` is allowed, and count it."""
        ...

    async def block(self, provider: str, seconds: float) -> None:
        """Pause every request to ``provider`` for ``seconds`` (Retry-After)."""
        ...


@dataclass
class LocalRateLimiter:
    """Token buckets in this process (tests, one replica, or when NATS KV is unwanted)."""

    rates: dict[str, float]
    burst: float = 2.0
    clock: Clock = time.time
    sleep: Sleep = asyncio.sleep
    default_rate: float = 1.0

    def __post_init__(self) -> None:
        """Start every bucket full."""
        self._states: dict[str, BucketState] = {}

    def _state(self, provider: str) -> BucketState:
        return self._states.get(provider) or BucketState(self.burst, self.clock())

    async def acquire(self, provider: str) -> None:
        """Wait for a token of ``provider``."""
        rate = self.rates.get(provider, self.default_rate)
        while True:
            state, wait = take(self._state(provider), self.clock(), rate, self.burst)
            self._states[provider] = state
            if wait <= 0:
                return
            await self.sleep(wait)  # rate limiting: waiting for the next token is the point

    async def block(self, provider: str, seconds: float) -> None:
        """Pause ``provider`` until now + ``seconds``."""
        state = self._state(provider)
        until = max(state.blocked_until, self.clock() + seconds)
        self._states[provider] = BucketState(state.tokens, state.ts, until)


def _encode(state: BucketState) -> bytes:
    return orjson.dumps(
        {"tokens": state.tokens, "ts": state.ts, "blocked_until": state.blocked_until}
    )


def _decode(raw: bytes | None) -> BucketState | None:
    if not raw:
        return None
    data = orjson.loads(raw)
    return BucketState(
        float(data["tokens"]), float(data["ts"]), float(data.get("blocked_until", 0.0))
    )


@dataclass
class KvRateLimiter:
    """Token buckets shared by every replica through a NATS key-value bucket (CAS updates)."""

    kv: KeyValue
    rates: dict[str, float]
    burst: float = 2.0
    clock: Clock = time.time
    sleep: Sleep = asyncio.sleep
    default_rate: float = 1.0

    @staticmethod
    def bucket_name(bus: Bus) -> str:
        """Return the namespace's rate-limit bucket name."""
        return f"{bus.names.namespace.replace('-', '_')}_ratelimit"

    @classmethod
    async def open(cls, bus: Bus, rates: dict[str, float], burst: float) -> KvRateLimiter:
        """Open (or create) the namespace's rate-limit bucket."""
        kv = await bus.open_bucket(cls.bucket_name(bus))
        return cls(kv=kv, rates=rates, burst=burst)

    async def _change(
        self, provider: str, change: Callable[[BucketState], tuple[BucketState, float]]
    ) -> float:
        """Apply ``change`` to the shared state with compare-and-set; return its wait."""
        while True:
            try:
                entry = await self.kv.get(provider)
                current, revision = _decode(entry.value), entry.revision
            except nats.js.errors.KeyNotFoundError:
                current, revision = None, None
            state = current or BucketState(self.burst, self.clock())
            new, wait = change(state)
            try:
                if revision is None:
                    await self.kv.create(provider, _encode(new))
                else:
                    await self.kv.update(provider, _encode(new), last=revision)
            except (nats.js.errors.KeyWrongLastSequenceError, nats.js.errors.BadRequestError):
                continue  # another replica changed it first: read again
            return wait

    async def try_acquire(self, provider: str) -> float:
        """Take a token if one is there; return 0, or the seconds to wait before asking again."""
        rate = self.rates.get(provider, self.default_rate)
        return await self._change(provider, lambda s: take(s, self.clock(), rate, self.burst))

    async def acquire(self, provider: str) -> None:
        """Wait for a token of ``provider`` from the shared budget."""
        while (wait := await self.try_acquire(provider)) > 0:
            await self.sleep(wait)  # rate limiting: waiting for the next token is the point

    async def block(self, provider: str, seconds: float) -> None:
        """Pause ``provider`` for every replica until now + ``seconds``."""

        def change(state: BucketState) -> tuple[BucketState, float]:
            until = max(state.blocked_until, self.clock() + seconds)
            return BucketState(state.tokens, state.ts, until), 0.0

        await self._change(provider, change)


@dataclass
class Aimd:
    """Concurrency per provider: +1 per window of successes, halved on a 429 (min 1)."""

    maximum: int
    limit: float = 1.0

    def __post_init__(self) -> None:
        """Start at one request in flight and a condition to wait on."""
        self.in_flight = 0
        self._cond = asyncio.Condition()

    async def __aenter__(self) -> Aimd:
        """Wait for room under the current limit."""
        async with self._cond:
            await self._cond.wait_for(lambda: self.in_flight < int(self.limit))
            self.in_flight += 1
        return self

    async def __aexit__(self, *exc: object) -> None:
        """Free the slot and wake a waiter."""
        async with self._cond:
            self.in_flight -= 1
            self._cond.notify_all()

    def on_success(self) -> None:
        """Grow slowly: about one more slot after ``limit`` successes."""
        self.limit = min(float(self.maximum), self.limit + 1.0 / self.limit)

    def on_throttled(self) -> None:
        """Back off: halve the limit (never below one)."""
        self.limit = max(1.0, self.limit / 2)
