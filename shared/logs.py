"""Structured logging: JSON lines to stdout (console rendering on a TTY), configured once.

Secrets never reach a log line: settings hold them as ``SecretStr``, DSNs are logged only through
``redact_url``, and a last processor (``redact_secrets``) masks any value whose key names a secret,
any password embedded in a URL and any ``password=...``-style pair in free text, whatever the code
that logged it. Libraries that log through the standard library (asyncpg, aiohttp, nats-py,
watchdog) go through the same processors by structlog's ``ProcessorFormatter``: their lines are
JSON objects with the same fields (``event``, ``level``, ``timestamp``, plus ``logger``).
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import MutableMapping
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import structlog

_SECRET_KEY_RE = re.compile(
    r"(?i)(^|[_-])(pass(word)?|passwd|secret|token|api[_-]?key|authorization|creds|dsn)($|[_-])"
)
_URL_PASSWORD_RE = re.compile(r"(?P<scheme>[a-z][a-z0-9+.-]*://[^:/@\s]+):(?P<pw>[^@\s/]+)@")
_BEARER_RE = re.compile(r"(?i)\b(bearer)\s+[A-Za-z0-9._~+/=-]{8,}")
_PAIR_RE = re.compile(
    r"(?i)\b(?P<key>pass(?:word)?|passwd|pwd|secret|token|api[_-]?key)(?P<sep>\s*[=:]\s*)"
    r"(?P<value>[^\s&,;'\"]+)"
)
MASK = "***"
STDLIB_LEVEL = logging.WARNING
"""The least level kept from libraries logging through the standard library."""


def redact_text(text: str) -> str:
    """Mask passwords inside URLs, ``password=...``-style pairs and bearer tokens in free text."""
    text = _URL_PASSWORD_RE.sub(lambda m: f"{m.group('scheme')}:{MASK}@", text)
    text = _PAIR_RE.sub(lambda m: f"{m.group('key')}{m.group('sep')}{MASK}", text)
    return _BEARER_RE.sub(lambda m: f"{m.group(1)} {MASK}", text)


def _redact(key: str, value: Any) -> Any:
    if _SECRET_KEY_RE.search(key) and isinstance(value, str | bytes) and value:
        return MASK
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, dict):
        return {k: _redact(str(k), v) for k, v in value.items()}
    return value


def redact_secrets(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """Structlog processor: mask secret-named keys and credentials embedded in strings."""
    for key, value in list(event_dict.items()):
        event_dict[key] = _redact(key, value)
    return event_dict


class _StdlibHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """The handler ``configure_logging`` installs on the root logger (replaced when re-run)."""


def configure_logging(level: str = "INFO") -> None:
    """Route structlog and the standard library's logging to stdout: JSON, or pretty on a TTY.

    Standard-library records (asyncpg, aiohttp, nats-py, watchdog) at ``STDLIB_LEVEL`` or above
    (or ``level``, if higher) are rendered by structlog's ``ProcessorFormatter`` with the same
    time stamp, level and secret masking as the services' own lines.
    """
    renderer: structlog.typing.Processor
    if sys.stdout.isatty():
        renderer = structlog.dev.ConsoleRenderer()
    else:
        renderer = structlog.processors.JSONRenderer()
    threshold = logging.getLevelName(level.upper())
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.StackInfoRenderer(),
            structlog.processors.format_exc_info,
            redact_secrets,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(threshold),
        logger_factory=structlog.PrintLoggerFactory(sys.stdout),
        cache_logger_on_first_use=True,
    )
    handler = _StdlibHandler(sys.stdout)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[
                structlog.contextvars.merge_contextvars,
                structlog.stdlib.add_log_level,
                structlog.stdlib.add_logger_name,
                structlog.processors.TimeStamper(fmt="iso", utc=True),
            ],
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.format_exc_info,
                redact_secrets,
                renderer,
            ],
        )
    )
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, _StdlibHandler)]:
        root.removeHandler(old)  # configured again (tests, the reader process): one handler
    root.addHandler(handler)
    root.setLevel(max(STDLIB_LEVEL, threshold))


def early_logger() -> Any:
    """Return a JSON logger for the moment before ``configure_logging`` can run.

    When the settings do not load there is no log level to configure with; this logger writes
    the same JSON lines (level, time stamp, secrets masked) without touching the global set-up.
    """
    return structlog.wrap_logger(
        structlog.PrintLogger(sys.stdout),
        processors=[
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            redact_secrets,
            structlog.processors.JSONRenderer(),
        ],
    )


def redact_url(url: str) -> str:
    """Return ``url`` with any password replaced by ``***``; each URL of a comma list too.

    ``NATS_URL`` may list a cluster (``nats://u:p@a:4222,nats://u:p@b:4222``): every URL in it
    is masked, not only the first.
    """
    return ",".join(_redact_one_url(part) for part in url.split(","))


def _redact_one_url(url: str) -> str:
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:
        return redact_text(url)
    if password is None:
        return url
    netloc = parts.netloc.replace(f":{password}@", f":{MASK}@")
    return urlunsplit(parts._replace(netloc=netloc))
