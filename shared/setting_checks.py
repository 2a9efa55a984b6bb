"""Parsers of the settings that are more than a plain value, run when the settings load.

Each parser returns the parsed value or raises ``ValueError`` with a message that quotes the bad
part, so a typo stops the service at start (see ``shared.lifecycle.load_settings``) instead of
failing the first time the value is used, hours later. The settings classes call these from
pydantic validators; the code that uses the values calls the same parsers, so there is one place
per format.
"""

from __future__ import annotations

import logging
import math
from datetime import UTC, datetime
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import CroniterBadDateError, croniter

from shared.logs import redact_text

CRON_FIELDS = 5
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


def cron_expression(value: str) -> str:
    """Return ``value`` if it is a five-field cron expression with a next slot.

    ``0 0 31 2 *`` (February 31st) parses but never runs; it is refused like a typo.
    """
    if len(value.split()) != CRON_FIELDS or not croniter.is_valid(value):
        msg = f"not a valid cron expression (minute hour day month weekday): {value!r}"
        raise ValueError(msg)
    try:
        croniter(value, datetime(2000, 1, 1, tzinfo=UTC)).get_next(datetime)
    except CroniterBadDateError as exc:
        msg = f"cron expression never matches a date: {value!r}"
        raise ValueError(msg) from exc
    return value


def time_zone(value: str) -> ZoneInfo:
    """Return the IANA time zone named ``value`` (e.g. ``Europe/Berlin``)."""
    try:
        return ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        msg = f"unknown time zone (an IANA name such as 'Europe/Berlin'): {value!r}"
        raise ValueError(msg) from exc


def rate_map(value: str, names: tuple[str, ...]) -> dict[str, float]:
    """Return the ``name=rate`` comma list ``value`` as a dict of positive rates per name."""
    rates: dict[str, float] = {}
    for part in filter(None, (p.strip() for p in value.split(","))):
        name, sep, number = (s.strip() for s in part.partition("="))
        if not sep or name not in names:
            msg = f"expected name=rate with a name among {', '.join(names)}: {part!r}"
            raise ValueError(msg)
        try:
            rate = float(number)
        except ValueError:
            rate = math.nan
        if not math.isfinite(rate) or rate <= 0:
            msg = f"the rate of {name} must be a positive number: {part!r}"
            raise ValueError(msg)
        rates[name] = rate
    return rates


def url_list(value: str, schemes: tuple[str, ...]) -> list[str]:
    """Return the comma list of URLs ``value``; each must have a host and one of ``schemes``."""
    urls = [part.strip() for part in value.split(",") if part.strip()]
    for url in urls:
        parts = urlsplit(url)
        if parts.scheme not in schemes or not parts.hostname:
            msg = f"not a URL ({' or '.join(schemes)}) with a host: {redact_text(url)!r}"
            raise ValueError(msg)
    return urls


def log_level(value: str) -> str:
    """Return ``value`` upper-cased if it is a standard logging level name."""
    level = value.strip().upper()
    if level not in LOG_LEVELS or not isinstance(logging.getLevelName(level), int):
        msg = f"not a log level ({', '.join(LOG_LEVELS)}): {value!r}"
        raise ValueError(msg)
    return level
