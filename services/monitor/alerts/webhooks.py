"""Deliver alert notifications to webhooks: Slack-compatible or generic JSON, signed, retried.

``MONITOR_WEBHOOK_URLS`` is a comma list; each item is ``slack=URL``, ``generic=URL`` or a bare
URL (Slack format when the host is ``hooks.slack.com``, else generic). With
``MONITOR_WEBHOOK_SECRET`` set, each request carries ``X-Pipeline-Signature: sha256=<hex>``, the
HMAC-SHA256 of the exact body bytes under that secret.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlsplit

import aiohttp
import orjson
import structlog
from pydantic import SecretStr
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential,
)

from shared.errors import ConfigError
from shared.netguard import BlockedUrlError

if TYPE_CHECKING:
    from services.monitor.config import MonitorSettings

log = structlog.get_logger(__name__)

SIGNATURE_HEADER = "X-Pipeline-Signature"
Format = Literal["slack", "generic"]


@dataclass(frozen=True)
class Target:
    """One webhook and the body format it takes."""

    url: str
    fmt: Format


@dataclass(frozen=True)
class Notification:
    """A firing or resolved alert, as sent."""

    status: Literal["firing", "resolved"]
    rule: str
    key: str
    severity: str
    message: str
    details: dict[str, Any]
    first_fired_at: datetime
    at: datetime


class RetryableStatusError(Exception):
    """The receiver answered 429 or 5xx: worth another attempt."""


def parse_targets(spec: str) -> list[Target]:
    """Return the webhook targets of a ``MONITOR_WEBHOOK_URLS`` value.

    Raises:
        ConfigError: an item is not an http(s) URL.
    """
    targets = []
    for item in filter(None, (part.strip() for part in spec.split(","))):
        fmt, _, rest = item.partition("=")
        if fmt in ("slack", "generic") and rest:
            url, chosen = rest, fmt
        else:
            url = item
            chosen = "slack" if urlsplit(item).hostname == "hooks.slack.com" else "generic"
        if urlsplit(url).scheme not in ("http", "https") or not urlsplit(url).hostname:
            msg = f"MONITOR_WEBHOOK_URLS: not an http(s) URL with a host: {url!r}"
            raise ConfigError(msg)
        targets.append(Target(url, chosen))  # type: ignore[arg-type]
    return targets


def _slack_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def body_for(fmt: Format, note: Notification, namespace: str) -> bytes:
    """Return the JSON body of a notification in a target's format."""
    if fmt == "slack":
        mark = ":rotating_light:" if note.status == "firing" else ":white_check_mark:"
        text = (
            f"{mark} [{note.status.upper()}] {note.severity} {note.rule} ({note.key}) "
            f"in {namespace}: {note.message}"
        )
        return orjson.dumps({"text": _slack_escape(text)})
    return orjson.dumps(
        {
            "event": f"alert.{note.status}",
            "status": note.status,
            "namespace": namespace,
            "rule": note.rule,
            "key": note.key,
            "severity": note.severity,
            "message": note.message,
            "details": note.details,
            "first_fired_at": note.first_fired_at.isoformat(),
            "sent_at": note.at.isoformat(),
        }
    )


def sign(body: bytes, secret: SecretStr) -> str:
    """Return the signature header value of a body: ``sha256=<hex HMAC-SHA256>``."""
    digest = hmac.new(secret.get_secret_value().encode(), body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def _log_retry(state: RetryCallState) -> None:
    exc = state.outcome.exception() if state.outcome else None
    log.warning("monitor.webhook_retrying", attempt=state.attempt_number, error=_describe(exc))


@dataclass
class WebhookSender:
    """Posts notifications to every target, each with its own retries."""

    session: aiohttp.ClientSession
    targets: list[Target]
    secret: SecretStr | None
    namespace: str
    timeout_s: float = 5.0
    attempts: int = 4
    backoff_s: float = 1.0

    @classmethod
    def from_settings(
        cls, session: aiohttp.ClientSession, targets: list[Target], settings: MonitorSettings
    ) -> WebhookSender:
        """Return a sender configured by the monitor's settings (secret, timeout, retries)."""
        return cls(
            session,
            targets,
            settings.webhook_secret,
            settings.namespace,
            timeout_s=settings.webhook_timeout_s,
            attempts=settings.webhook_attempts,
            backoff_s=settings.webhook_backoff_s,
        )

    def __post_init__(self) -> None:
        """Warn once that notifications go out unsigned when no secret is configured."""
        if self.targets and self.secret is None:
            log.warning("monitor.webhook_unsigned", reason="MONITOR_WEBHOOK_SECRET is not set")

    async def send(self, note: Notification) -> int:
        """Deliver to every target; return how many accepted it (failures are logged)."""
        delivered = 0
        for target in self.targets:
            try:
                await self._deliver(target, body_for(target.fmt, note, self.namespace))
            except (
                aiohttp.ClientError,
                TimeoutError,
                RetryableStatusError,
                BlockedUrlError,
            ) as exc:
                # BlockedUrlError: an internal address not allowed by ALLOWED_URL_HOSTS.
                log.error(
                    "monitor.webhook_failed",
                    url=_safe(target.url),
                    rule=note.rule,
                    error=_describe(exc),
                )
                continue
            delivered += 1
        return delivered

    async def _deliver(self, target: Target, body: bytes) -> None:
        headers = {"Content-Type": "application/json"}
        if self.secret is not None:
            headers[SIGNATURE_HEADER] = sign(body, self.secret)
        retrying = AsyncRetrying(
            retry=retry_if_exception_type(
                (aiohttp.ClientConnectionError, TimeoutError, RetryableStatusError)
            ),
            stop=stop_after_attempt(self.attempts),
            wait=wait_exponential(multiplier=self.backoff_s, max=30.0),
            before_sleep=_log_retry,
            reraise=True,
        )
        timeout = aiohttp.ClientTimeout(total=self.timeout_s)
        async for attempt in retrying:
            with attempt:
                async with self.session.post(
                    target.url, data=body, headers=headers, timeout=timeout
                ) as response:
                    if response.status == 429 or response.status >= 500:
                        raise RetryableStatusError(f"HTTP {response.status}")
                    response.raise_for_status()  # other 4xx: a configuration error, no retry
        log.info("monitor.webhook_delivered", url=_safe(target.url))


def _describe(exc: BaseException | None) -> str:
    """Return what went wrong without any URL: a Slack webhook's path is its secret.

    The exceptions' own text is not used: aiohttp's response errors carry the request URL.
    """
    if exc is None:
        return ""
    name = exc.__class__.__name__
    if isinstance(exc, aiohttp.ClientResponseError):
        return f"{name}: HTTP {exc.status}"
    if isinstance(exc, RetryableStatusError):
        return f"{name}: {exc}"  # "HTTP 503", written by _deliver
    if isinstance(exc, aiohttp.ClientConnectorError):
        return f"{name}: cannot connect to {exc.host}:{exc.port}"
    return name


def _safe(url: str) -> str:
    """Return a URL without its path and query (Slack webhook paths are secrets)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}/..."
