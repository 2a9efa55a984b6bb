"""Image URLs: a form check always (here), an optional HTTP HEAD check (``image_head``).

A broken image is a quality flag in the enrichment, never a failure of the record.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".webp", ".gif", ".avif")


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
