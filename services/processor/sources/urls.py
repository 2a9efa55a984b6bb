"""Repairs of URL fields, each recorded: a missing scheme, a path relative to the page, tidying.

Scraped pages often give an image as ``//cdn.host/a.jpg`` or ``/images/a.jpg``, or a link as
``www.site.com/listing/1``: what they mean is unambiguous, so it is repaired. An image URL that
still is not a valid http(s) URL is dropped from the record, with the reason kept in its repairs
and an ``invalid_url`` flag in its enrichment: a broken image is a quality flag, never the
failure of an otherwise valid record. Other URL fields are only completed (never tidied: an
article's URL is part of its natural key), and a bad one still fails its record.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

from shared.records import url_problem

from ..enrich.images import IMAGE_DROPPED
from .repairs import Repairs

_TRACKING = re.compile(r"^(utm_|fbclid$|gclid$|ref$|mc_)")
_HOST_FIRST = re.compile(
    r"^(?:www\.[^/\s]+|(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+[a-z]{2,63}(?::\d{1,5})?/)", re.I
)
"""A URL written without its scheme: ``www.`` and a host, or a host name with a dot and a path
(a bare ``photo.jpg`` has no path, so it is not taken for a host)."""
_WEB = ("http://", "https://")


def complete_url(
    record: dict[str, Any], field_name: str, repairs: Repairs, bases: tuple[str, ...] = ()
) -> None:
    """Give a URL without a scheme the one it needs, or resolve it against the page; record it.

    ``//host/path`` and ``host.tld/path`` (or ``www.host...``) get ``https://`` (``url_scheme``);
    ``/path`` is resolved against the first of the ``bases`` fields holding an http(s) URL (the
    page it came from: ``url_relative``). A value with a scheme, or any other shape, is left to
    validation.
    """
    value = record.get(field_name)
    if not isinstance(value, str):
        return
    text = value.strip()
    if not text or "://" in text:
        return
    if text.startswith("//"):
        record[field_name] = repairs.add(field_name, value, f"https:{text}", "url_scheme")
    elif text.startswith("/"):
        base = next((b for b in map(record.get, bases) if _is_web(b)), None)
        if isinstance(base, str):
            resolved = urljoin(base.strip(), text)
            record[field_name] = repairs.add(field_name, value, resolved, "url_relative")
    elif _HOST_FIRST.match(text):
        record[field_name] = repairs.add(field_name, value, f"https://{text}", "url_scheme")


def _is_web(value: Any) -> bool:
    return isinstance(value, str) and value.strip().lower().startswith(_WEB)


def normalize_url(record: dict[str, Any], field_name: str, repairs: Repairs) -> None:
    """Lower-case scheme and host, drop tracking parameters and the fragment; record it."""
    value = record.get(field_name)
    if not isinstance(value, str) or "://" not in value:
        return
    head = value[: value.find("/", value.find("://") + 3) % (len(value) + 1)]
    if "?" not in value and "#" not in value and head == head.lower() and value == value.strip():
        return  # already in normal form (the common case): skip the parse
    try:
        parts = urlsplit(value.strip())
    except ValueError:
        return
    query = urlencode([(k, v) for k, v in parse_qsl(parts.query) if not _TRACKING.match(k)])
    tidy = urlunsplit((parts.scheme.lower(), parts.netloc.lower(), parts.path, query, ""))
    if tidy != value:
        record[field_name] = repairs.add(field_name, value, tidy, "url_normalized")


def drop_invalid_image(record: dict[str, Any], field_name: str, repairs: Repairs) -> None:
    """Remove an image URL that is not a valid http(s) URL; record it (``IMAGE_DROPPED``)."""
    value = record.get(field_name)
    if isinstance(value, str) and value.strip() and url_problem(value) is not None:
        del record[field_name]
        repairs.add(field_name, value, None, IMAGE_DROPPED)


def repair_image_url(
    record: dict[str, Any], field_name: str, repairs: Repairs, bases: tuple[str, ...]
) -> None:
    """Complete, tidy, then check an image URL: what is left invalid is dropped, not failed."""
    complete_url(record, field_name, repairs, bases)
    normalize_url(record, field_name, repairs)
    drop_invalid_image(record, field_name, repairs)


def canonical_url(url: str) -> str:
    """Return a URL for comparison: lower host, no ``www.``, tracking, fragment or end slash."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return url.strip()
    host = parts.netloc.lower().removeprefix("www.")
    query = urlencode([(k, v) for k, v in parse_qsl(parts.query) if not _TRACKING.match(k)])
    return urlunsplit((parts.scheme.lower(), host, parts.path.rstrip("/"), query, ""))
