"""Proxy rotation: round-robin over ``COLLECTOR_PROXIES``; a proxy that keeps failing is rested.

After ``fail_limit`` consecutive failures a proxy rests for ``rest_s`` seconds, then it is tried
again. When every proxy rests, the one whose rest ends first is used rather than none.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import structlog

log = structlog.get_logger(__name__)


@dataclass
class ProxyPool:
    """The configured proxies with their failure counts and rest periods."""

    proxies: list[str]
    fail_limit: int = 3
    rest_s: float = 300.0
    clock: Callable[[], float] = time.monotonic
    _next: int = 0
    _failures: dict[str, int] = field(default_factory=dict)
    _rest_until: dict[str, float] = field(default_factory=dict)

    def pick(self) -> str | None:
        """Return the next usable proxy URL, or ``None`` when no proxy is configured."""
        if not self.proxies:
            return None
        now = self.clock()
        for _ in range(len(self.proxies)):
            proxy = self.proxies[self._next % len(self.proxies)]
            self._next += 1
            if self._rest_until.get(proxy, 0.0) <= now:
                return proxy
        return min(self.proxies, key=lambda p: self._rest_until.get(p, 0.0))

    def report(self, proxy: str | None, *, ok: bool) -> None:
        """Record the outcome of a request through ``proxy``."""
        if proxy is None:
            return
        if ok:
            self._failures[proxy] = 0
            return
        failures = self._failures.get(proxy, 0) + 1
        if failures >= self.fail_limit:
            self._rest_until[proxy] = self.clock() + self.rest_s
            failures = 0
            log.warning("proxy.rested", proxy=_safe(proxy), rest_s=self.rest_s)
        self._failures[proxy] = failures

    def resting(self) -> list[str]:
        """Return the proxies resting now."""
        now = self.clock()
        return [p for p in self.proxies if self._rest_until.get(p, 0.0) > now]


def _safe(proxy: str) -> str:
    """Return a proxy URL without its credentials, for logs."""
    scheme, sep, rest = proxy.partition("://")
    host = rest.rpartition("@")[2]
    return f"{scheme}{sep}{host}" if sep else host
