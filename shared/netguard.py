"""Outbound URL guard: URLs the pipeline fetches (feeds, images, webhooks) cannot reach internal
addresses unless configuration allows it.

Enforced where connections are made, not only where URLs are read: ``guarded_session`` gives an
aiohttp session whose resolver drops loopback, private, link-local, multicast and reserved
addresses (so DNS rebinding and redirects are covered too), and whose request hook refuses such
IP literals. Hosts listed in ``ALLOWED_URL_HOSTS`` (or everything, with ``ALLOW_PRIVATE_URLS``)
are let through: local test servers and on-premises webhooks.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from yarl import URL

from shared.errors import BadInputError


class BlockedUrlError(BadInputError):
    """A URL points at an address the configuration does not allow."""


@dataclass(frozen=True)
class UrlPolicy:
    """Which destinations outbound requests may reach."""

    allow_private: bool = False
    allowed_hosts: frozenset[str] = field(default_factory=frozenset)

    def host_allowed(self, host: str) -> bool:
        """Return True if the host is explicitly allowed (or private addresses are)."""
        return self.allow_private or host.lower().strip("[]") in self.allowed_hosts


def is_public_address(address: str) -> bool:
    """Return True for a globally routable unicast address."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def check_url(url: str | URL, policy: UrlPolicy) -> URL:
    """Return the parsed URL if its scheme and (literal) host may be fetched.

    Raises:
        BlockedUrlError: not http(s), no host, or an IP literal that is not public and not allowed.
    """
    parsed = URL(str(url))
    if parsed.scheme not in ("http", "https") or not parsed.host:
        msg = f"only http(s) URLs with a host can be fetched: {str(url)[:200]!r}"
        raise BlockedUrlError(msg)
    host = parsed.host
    if policy.host_allowed(host):
        return parsed
    try:
        public = is_public_address(host)
    except ValueError:
        return parsed  # a name: checked when it is resolved
    if not public:
        msg = f"{host} is an internal address; allow it with ALLOWED_URL_HOSTS"
        raise BlockedUrlError(msg)
    return parsed


class GuardedResolver(AbstractResolver):
    """A resolver that returns only addresses the policy allows."""

    def __init__(self, policy: UrlPolicy) -> None:
        """Wrap aiohttp's default resolver with the policy."""
        self._policy = policy
        self._inner = aiohttp.ThreadedResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        """Resolve ``host`` and drop internal addresses unless allowed."""
        results = await self._inner.resolve(host, port, family)
        if self._policy.host_allowed(host):
            return results
        allowed = [r for r in results if is_public_address(r["host"])]
        if not allowed:
            msg = f"{host} resolves only to internal addresses; allow it with ALLOWED_URL_HOSTS"
            raise BlockedUrlError(msg)
        return allowed

    async def close(self) -> None:
        """Close the wrapped resolver."""
        await self._inner.close()


def guarded_session(policy: UrlPolicy, **session_kwargs: Any) -> aiohttp.ClientSession:
    """Return a ClientSession that cannot reach internal addresses unless the policy allows."""

    async def on_request_start(
        _session: aiohttp.ClientSession, _ctx: SimpleNamespace, params: Any
    ) -> None:
        check_url(params.url, policy)

    trace = aiohttp.TraceConfig()
    trace.on_request_start.append(on_request_start)
    trace.on_request_redirect.append(
        lambda _s, _c, params: _check_async(params.response.headers.get("Location"), policy)
    )
    connector = aiohttp.TCPConnector(resolver=GuardedResolver(policy))
    return aiohttp.ClientSession(connector=connector, trace_configs=[trace], **session_kwargs)


async def _check_async(location: str | None, policy: UrlPolicy) -> None:
    if location and "://" in location:
        check_url(location, policy)
