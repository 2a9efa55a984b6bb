"""Image URLs: a form check always (here), an optional HTTP HEAD check (``image_head``).

A broken image is a quality flag in the enrichment, never a failure of the record.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from pydantic_core import Url

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".webp", ".gif", ".avif")


def check_form(url: Any) -> dict[str, Any] | None:
    """Return the image entry of a URL's form check (None without an image URL).

    A validated record's URL (pydantic-core's ``Url``) is already parsed: its parts are read, not
    parsed again (``urlsplit`` took ~3 us a record, most of the check).
    """
    if not url:
        return None
    if isinstance(url, Url):
        scheme, path, query = url.scheme, url.path or "", url.query
    else:
        parts = urlsplit(str(url))
        scheme, path, query = parts.scheme, parts.path, parts.query
    flags: list[str] = []
    if scheme != "https":
        flags.append("not_https")
    if not path.lower().endswith(IMAGE_EXTENSIONS):
        flags.append("no_image_extension")
    if query:
        flags.append("has_query")
    return {"url": str(url), "flags": flags, "checked": False, "rule": "url_form"}
