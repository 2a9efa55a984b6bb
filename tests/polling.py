"""Poll with a deadline instead of sleeping."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")


async def eventually(
    probe: Callable[[], Awaitable[T]], *, timeout_s: float = 20.0, interval_s: float = 0.1
) -> T:
    """Return the first truthy result of ``probe()``; fail with the last result at the deadline."""
    deadline = time.monotonic() + timeout_s
    result = await probe()
    while not result:
        if time.monotonic() > deadline:
            msg = f"condition not met within {timeout_s}s (last: {result!r})"
            raise AssertionError(msg)
        await asyncio.sleep(interval_s)
        result = await probe()
    return result
