"""Image URLs: a form check always, an optional HTTP HEAD check (off by default).

A broken image is a quality flag in the enrichment, never a failure of the record.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import aiohttp

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".webp", ".gif", ".avif")
HEAD_TIMEOUT_S = 5.0


def check_form(url: Any) -> dict[str, Any] | None:
    """Return the image entry of a URL's form check (None without an image URL)."""
    if not url:
        return None
    parts = urlsplit(str(url))
    flags: list[str] = []
    if parts.scheme != "https":
        flags.append("not_https")
    if not parts.path.lower().endswith(IMAGE_EXTENSIONS):
        flags.append("no_image_extension")
    if parts.query:
        flags.append("has_query")
    return {"url": str(url), "flags": flags, "checked": False, "rule": "url_form"}


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
