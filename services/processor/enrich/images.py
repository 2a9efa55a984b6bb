"""Image URLs: a form check always (here), an optional HTTP HEAD check (``image_head``).

A broken image is a quality flag in the enrichment, never a failure of the record.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import urlsplit

from pydantic_core import Url

from shared.records import url_problem

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".webp", ".gif", ".avif")
IMAGE_DROPPED = "image_url_invalid"
"""The repair rule of an image URL dropped before validation (``sources.urls``)."""


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


def dropped_image(repairs: Iterable[Mapping[str, Any]]) -> dict[str, Any] | None:
    """Return the image entry of a record whose image URL was dropped as invalid, else None.

    The record stays valid; its image is flagged ``invalid_url``, with the reason the URL check
    gave (``url_parsing``, ``url_scheme``, ``url_too_long``...).
    """
    for repair in repairs:
        if repair["rule"] == IMAGE_DROPPED:
            url = str(repair["from"])
            return {
                "url": url,
                "flags": ["invalid_url"],
                "problem": url_problem(url),
                "checked": False,
                "rule": "url_form",
            }
    return None
