"""Helpers of the collector's unit tests: a recording sleep, endpoints of the fakes."""

from __future__ import annotations

from dataclasses import dataclass, field

from pydantic import SecretStr

from services.collector.sources.base import Endpoint
from tests.fakes.providers import KEYS, Fakes


@dataclass
class Sleeps:
    """An injected sleep that records the waits instead of waiting, and its fake clock."""

    waits: list[float] = field(default_factory=list)
    now: float = 1_000_000.0

    async def __call__(self, seconds: float) -> None:
        """Record one wait and move the fake clock on by it."""
        self.waits.append(seconds)
        self.now += seconds

    def clock(self) -> float:
        """Return the fake time (moved on only by the recorded waits)."""
        return self.now


def endpoint(fakes: Fakes, provider: str, *, key: str | None = "valid") -> Endpoint:
    """Return the endpoint of a fake provider with its valid key (or ``key``, or none)."""
    secret = KEYS.get(provider) if key == "valid" else key
    extra = {"search": fakes.url("jina_search")} if provider == "jina" else {}
    return Endpoint(fakes.url(provider), SecretStr(secret) if secret else None, extra)
