"""What a provider call can end in, and how an HTTP answer is classified.

Transient (retried): connection errors, timeouts, 408, 429, 5xx, 524. Permanent (no retry, an
alert): 401/403 and Brave's 422 ``SUBSCRIPTION_TOKEN_INVALID`` (bad key), other 4xx (bad request).
"""

from __future__ import annotations

import email.utils
import time
from collections.abc import Mapping

import orjson

from shared.errors import PermanentError, RetryableError

RETRYABLE_STATUSES = frozenset({408, 429, 524})
AUTH_STATUSES = frozenset({401, 403})


class ProviderError(PermanentError):
    """A provider call that no retry fixes; ``kind`` is the alert kind."""

    kind = "provider_failed"

    def __init__(self, provider: str, status: int | None, message: str) -> None:
        """Keep the provider, the HTTP status and a short message (never a key)."""
        super().__init__(
            f"{provider}: HTTP {status}: {message}" if status else f"{provider}: {message}"
        )
        self.provider = provider
        self.status = status


class ProviderAuthError(ProviderError):
    """The API key is missing, wrong or not allowed (401, 403, Brave 422 token invalid)."""

    kind = "provider_auth_failed"


class ProviderBadRequest(ProviderError):
    """The provider refused the request itself (400, other 4xx); fix the configuration."""

    kind = "provider_bad_request"


class MalformedResponse(ProviderError):
    """A 2xx answer whose body is not the documented JSON."""

    kind = "provider_malformed_response"


class ResponseTooLarge(ProviderError):
    """An answer larger than ``COLLECTOR_MAX_RESPONSE_BYTES``; it was not read further."""

    kind = "provider_response_too_large"

    def __init__(self, provider: str, status: int | None, limit: int) -> None:
        """Say which limit the answer passed and which setting raises it."""
        message = (
            f"answer larger than {limit:,} bytes, not read further "
            "(raise COLLECTOR_MAX_RESPONSE_BYTES if this provider's answers are that big)"
        )
        super().__init__(provider, status, message)


class ExtractionFailed(ProviderError):
    """An LLM answer that cannot be used (cut off by ``finish_reason: length``, not JSON)."""

    kind = "provider_extraction_failed"


class TransientHttpError(RetryableError):
    """A retryable answer (408, 429, 5xx, 524) or connection failure, with the advised wait."""

    def __init__(self, provider: str, status: int | None, message: str, retry_after: float | None):
        """Keep the status and the provider's advised wait in seconds (``None``: not given)."""
        super().__init__(
            f"{provider}: HTTP {status}: {message}" if status else f"{provider}: {message}"
        )
        self.provider = provider
        self.status = status
        self.retry_after = retry_after


def is_retryable(status: int) -> bool:
    """Return True for statuses worth another attempt."""
    return status in RETRYABLE_STATUSES or 500 <= status <= 599


def parse_retry_after(headers: Mapping[str, str], now: float | None = None) -> float | None:
    """Return the wait advised by ``Retry-After`` (seconds or HTTP date) or Brave's reset header."""
    value = headers.get("Retry-After")
    if value:
        value = value.strip()
        if value.replace(".", "", 1).isdigit():
            return float(value)
        try:
            parsed = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            parsed = None
        if parsed is not None:
            return max(0.0, parsed.timestamp() - (time.time() if now is None else now))
    reset = headers.get("X-RateLimit-Reset")
    if reset:
        first = reset.split(",")[0].strip()
        if first.replace(".", "", 1).isdigit():
            return float(first)
    return None


def error_message(text: str, limit: int = 200) -> str:
    """Return the provider's message from a JSON or HTML error body, shortened."""
    try:
        data = orjson.loads(text)
    except orjson.JSONDecodeError:
        return " ".join(text.split())[:limit]
    return _message_of(data)[:limit]


def _message_of(data: object) -> str:
    if not isinstance(data, dict):
        return str(data)
    error = data.get("error")
    if isinstance(error, dict):
        return str(error.get("detail") or error.get("message") or error.get("code") or error)
    detail = data.get("detail")
    if isinstance(detail, dict):
        return str(detail.get("error") or detail)
    return str(data.get("readableMessage") or data.get("message") or detail or error or data)


def brave_token_invalid(text: str) -> bool:
    """Return True when a Brave 422 body says the subscription token is invalid."""
    try:
        data = orjson.loads(text)
    except orjson.JSONDecodeError:
        return False
    error = data.get("error") if isinstance(data, dict) else None
    return isinstance(error, dict) and error.get("code") == "SUBSCRIPTION_TOKEN_INVALID"


def classify(provider: str, status: int, headers: Mapping[str, str], text: str) -> None:
    """Raise the error an answer stands for; return for a 2xx.

    Raises:
        TransientHttpError: 408, 429, 5xx, 524.
        ProviderAuthError: 401, 403, Brave 422 with ``SUBSCRIPTION_TOKEN_INVALID``.
        ProviderBadRequest: every other non-2xx status.
    """
    if 200 <= status <= 299:
        return
    message = error_message(text)
    if is_retryable(status):
        raise TransientHttpError(provider, status, message, parse_retry_after(headers))
    if status in AUTH_STATUSES or (status == 422 and brave_token_invalid(text)):
        raise ProviderAuthError(provider, status, message)
    raise ProviderBadRequest(provider, status, message)
