"""Per-provider counters of one run: requests, failures, retries, latency, statuses, credits."""

from __future__ import annotations

import statistics
from collections import Counter
from dataclasses import dataclass, field

from shared.events import ProviderUsage


@dataclass
class Usage:
    """What one run spent at one provider; becomes a ``ProviderUsage`` event."""

    provider: str
    requests: int = 0
    failures: int = 0
    retries: int = 0
    latencies_ms: list[float] = field(default_factory=list)
    statuses: Counter[str] = field(default_factory=Counter)
    credits: float | None = None

    def record(self, status: int | None, latency_ms: float, *, failed: bool) -> None:
        """Count one HTTP attempt (``status`` is ``None`` for a connection failure or timeout)."""
        self.requests += 1
        self.failures += int(failed)
        self.latencies_ms.append(latency_ms)
        self.statuses[str(status) if status is not None else "error"] += 1

    def add_credits(self, amount: float | None) -> None:
        """Add credits (or cost, or tokens) that the provider reported for a call."""
        if amount is not None:
            self.credits = (self.credits or 0.0) + float(amount)

    def to_event(self) -> ProviderUsage:
        """Return the telemetry event of these counters."""
        return ProviderUsage(
            provider=self.provider,
            requests=self.requests,
            failures=self.failures,
            retries=self.retries,
            latency_ms_p50=_quantile(self.latencies_ms, 0.5),
            latency_ms_p95=_quantile(self.latencies_ms, 0.95),
            latency_ms_mean=round(statistics.fmean(self.latencies_ms), 2)
            if self.latencies_ms
            else None,
            credits=self.credits,
            statuses=dict(self.statuses),
        )


def _quantile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    if len(values) == 1:
        return round(values[0], 2)
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return round(cuts[min(98, int(q * 100) - 1)], 2)
