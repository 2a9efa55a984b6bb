"""The optional image check (off by default): ask the server for the image's type and size.

Apart from ``images`` (the form check) so that aiohttp stays out of the reader process: only
the service runs this check, after linking.
"""

from __future__ import annotations

from typing import Any

import aiohttp

HEAD_TIMEOUT_S = 5.0


async def check_head(session: aiohttp.ClientSession, entry: dict[str, Any]) -> None:
    """Ask the server for the image's content type and size; flag a broken image in ``entry``."""
    timeout = aiohttp.ClientTimeout(total=HEAD_TIMEOUT_S)
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
    except (aiohttp.ClientError, TimeoutError) as exc:
        entry.update(checked=True, error=exc.__class__.__name__)
        entry["flags"].append("broken_image")
