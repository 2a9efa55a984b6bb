"""The optional image check (off by default): ask the server for the image's type and size.

Apart from ``images`` (the form check) so that aiohttp stays out of the reader process: only
the service runs this check, after linking. A chunk's images are checked concurrently (at most
``concurrency`` at a time) within a time budget for the whole chunk, so slow image hosts cannot
stall the processor: a check still running when the budget is spent is cancelled and its image
left unchecked (``skipped: "time_budget"``). An image the URL guard refuses (an internal
address, a scheme other than http(s)) is flagged ``blocked_url`` on its listing, as a broken one
is flagged ``broken_image``: neither fails the record or its file.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import aiohttp
import structlog

from shared.netguard import BlockedUrlError
from shared.records import is_web_url

log = structlog.get_logger(__name__)

HEAD_TIMEOUT_S = 5.0
CONCURRENCY = 16
BUDGET_S = 30.0


@dataclass(frozen=True)
class ImageChecks:
    """HEAD checks of a chunk's images: concurrent, bounded, within a budget per chunk."""

    session: aiohttp.ClientSession
    concurrency: int = CONCURRENCY
    budget_s: float = BUDGET_S
    timeout_s: float = HEAD_TIMEOUT_S

    async def check_all(self, entries: Iterable[dict[str, Any]]) -> int:
        """Check every image entry in place; return how many the budget left unchecked."""
        entries = list(entries)
        slots = asyncio.Semaphore(self.concurrency)

        async def one(entry: dict[str, Any]) -> None:
            async with slots:
                await check_head(self.session, entry, self.timeout_s)

        tasks = [asyncio.create_task(one(entry)) for entry in entries]
        if not tasks:
            return 0
        try:
            await asyncio.wait(tasks, timeout=self.budget_s)
        finally:  # the budget is spent, or the chunk itself is cancelled: stop what still runs
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        unchecked = [entry for entry in entries if not entry.get("checked")]
        for entry in unchecked:
            entry["skipped"] = "time_budget"
        if unchecked:
            log.warning(
                "image_check.budget_spent", unchecked=len(unchecked), budget_s=self.budget_s
            )
        return len(unchecked)


async def check_head(
    session: aiohttp.ClientSession, entry: dict[str, Any], timeout_s: float = HEAD_TIMEOUT_S
) -> None:
    """Ask the server for the image's content type and size; flag a broken image in ``entry``."""
    if not is_web_url(entry["url"]):
        entry.update(checked=True, error="not_http")
        entry["flags"].append("blocked_url")
        return
    timeout = aiohttp.ClientTimeout(total=timeout_s)
    try:
        async with session.head(entry["url"], allow_redirects=True, timeout=timeout) as response:
            content_type = response.headers.get("Content-Type", "")
            entry.update(
                checked=True,
                status=response.status,
                content_type=content_type,
                size=response.content_length,
            )
            if response.status >= 400 or not content_type.startswith("image/"):
                entry["flags"].append("broken_image")
    except BlockedUrlError:
        entry.update(checked=True, error="BlockedUrlError")
        entry["flags"].append("blocked_url")
    except (aiohttp.ClientError, ValueError, TimeoutError) as exc:
        entry.update(checked=True, error=exc.__class__.__name__)
        entry["flags"].append("broken_image")
