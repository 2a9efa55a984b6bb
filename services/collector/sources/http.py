"""One polite, robust HTTP call to a provider: rate limit, AIMD slot, proxy, retries, counters.

Retries (tenacity, exponential backoff with jitter) only for connection errors, timeouts, 408,
429, 5xx and 524; the provider's ``Retry-After`` (or Brave's ``X-RateLimit-Reset``) is honoured
and shared with every replica through the rate limiter. Bodies are read as text first and parsed
as JSON only when asked, so an HTML error page never crashes the client. A body larger than
``max_body_bytes`` (``COLLECTOR_MAX_RESPONSE_BYTES``) is not read further: the call fails with
``ResponseTooLarge``, a permanent error (a retry would fetch the same body).
"""

from __future__ import annotations

import asyncio
import codecs
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp
import orjson
import structlog
from multidict import CIMultiDict
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential_jitter,
)

from services.collector.proxies import ProxyPool
from services.collector.ratelimit import Aimd, RateLimiter
from services.collector.sources.errors import (
    MalformedResponse,
    ResponseTooLarge,
    TransientHttpError,
    classify,
)
from services.collector.sources.usage import Usage

log = structlog.get_logger(__name__)

MAX_BODY_BYTES = 64 << 20
"""The largest provider or feed answer read (64 MiB): an Apify page of 1,000 listings is ~2 MB."""


@dataclass(frozen=True)
class Response:
    """A provider's successful answer, read as text."""

    provider: str
    status: int
    headers: Mapping[str, str]
    text: str

    def json(self) -> Any:
        """Return the body parsed as JSON.

        Raises:
            MalformedResponse: the body is not JSON.
        """
        try:
            return orjson.loads(self.text)
        except orjson.JSONDecodeError as exc:
            msg = f"body is not JSON ({exc}): {self.text[:80]!r}"
            raise MalformedResponse(self.provider, self.status, msg) from exc


@dataclass(frozen=True)
class Politeness:
    """Process-wide politeness of one provider: shared rate limiter, AIMD slots, proxies."""

    limiter: RateLimiter
    aimd: Aimd
    proxies: ProxyPool
    attempts: int = 5
    base_wait_s: float = 0.5
    max_wait_s: float = 60.0
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep


@dataclass
class Caller:
    """Makes the HTTP calls of one run to one provider and counts them in ``usage``."""

    provider: str
    session: aiohttp.ClientSession
    polite: Politeness
    usage: Usage
    timeout_s: float = 60.0
    max_body_bytes: int = MAX_BODY_BYTES

    async def request(self, method: str, url: str | Any, **kwargs: Any) -> Response:
        """Send a request with retries; return the 2xx answer.

        ``kwargs`` go to ``aiohttp`` (``params``, ``json``, ``headers``); ``timeout_s`` overrides
        the caller's timeout.

        Raises:
            ProviderError: a permanent failure (bad key, bad request).
            TransientHttpError: still failing after the last attempt.
        """
        timeout_s = float(kwargs.pop("timeout_s", self.timeout_s))
        polite = self.polite
        retrying = AsyncRetrying(
            retry=retry_if_exception_type(TransientHttpError),
            stop=stop_after_attempt(polite.attempts),
            wait=self._wait,
            sleep=polite.sleep,
            before_sleep=self._before_sleep,
            reraise=True,
        )
        async for attempt in retrying:
            with attempt:
                return await self._attempt(method, url, timeout_s, kwargs)
        raise AssertionError("unreachable: tenacity re-raises")  # pragma: no cover

    def _wait(self, state: RetryCallState) -> float:
        backoff = wait_exponential_jitter(
            multiplier=self.polite.base_wait_s,
            max=self.polite.max_wait_s,
            jitter=self.polite.base_wait_s,
        )(state)
        exc = state.outcome.exception() if state.outcome else None
        advised = exc.retry_after if isinstance(exc, TransientHttpError) else None
        if advised is not None:
            return min(self.polite.max_wait_s, advised)
        return float(backoff)

    async def _before_sleep(self, state: RetryCallState) -> None:
        self.usage.retries += 1
        exc = state.outcome.exception() if state.outcome else None
        wait = state.next_action.sleep if state.next_action else 0.0
        if isinstance(exc, TransientHttpError) and exc.retry_after is not None:
            await self.polite.limiter.block(
                self.provider, min(self.polite.max_wait_s, exc.retry_after)
            )
        log.warning(
            "provider.retrying",
            provider=self.provider,
            attempt=state.attempt_number,
            wait_s=round(wait, 2),
            error=str(exc)[:200],
        )

    async def _attempt(
        self, method: str, url: str | Any, timeout_s: float, kwargs: dict[str, Any]
    ) -> Response:
        await self.polite.limiter.acquire(self.provider)
        proxy = self.polite.proxies.pick()
        started = time.monotonic()
        async with self.polite.aimd:
            try:
                status, headers, text = await self._send(method, url, timeout_s, proxy, kwargs)
            except (aiohttp.ClientError, TimeoutError) as exc:
                self.usage.record(None, _ms(started), failed=True)
                self.polite.proxies.report(proxy, ok=False)
                raise TransientHttpError(self.provider, None, repr(exc)[:200], None) from exc
        self.usage.record(status, _ms(started), failed=not 200 <= status <= 299)
        self.polite.proxies.report(proxy, ok=status < 500)
        if status == 429:
            self.polite.aimd.on_throttled()
        elif 200 <= status <= 299:
            self.polite.aimd.on_success()
        classify(self.provider, status, headers, text)
        return Response(self.provider, status, headers, text)

    async def _send(
        self,
        method: str,
        url: str | Any,
        timeout_s: float,
        proxy: str | None,
        kwargs: dict[str, Any],
    ) -> tuple[int, Mapping[str, str], str]:
        timeout = aiohttp.ClientTimeout(total=timeout_s)
        async with self.session.request(
            method, url, timeout=timeout, proxy=proxy, **kwargs
        ) as response:
            body = await self._read_capped(response)
            text = body.decode(_encoding(response), errors="replace")
            return response.status, CIMultiDict(response.headers), text

    async def _read_capped(self, response: aiohttp.ClientResponse) -> bytes:
        """Return the body, or raise ``ResponseTooLarge`` once it passes ``max_body_bytes``."""
        limit = self.max_body_bytes
        if response.content_length is not None and response.content_length > limit:
            raise ResponseTooLarge(self.provider, response.status, limit)
        body = bytearray()
        async for chunk in response.content.iter_chunked(1 << 16):
            body += chunk
            if len(body) > limit:
                raise ResponseTooLarge(self.provider, response.status, limit)
        return bytes(body)


def _encoding(response: aiohttp.ClientResponse) -> str:
    """Return the answer's declared charset if Python knows it, else UTF-8 (JSON's own)."""
    try:
        return codecs.lookup(response.charset or "utf-8").name
    except LookupError:
        return "utf-8"


def _ms(started: float) -> float:
    return (time.monotonic() - started) * 1000.0
