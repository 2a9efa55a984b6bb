"""Outbound URL guard: URLs the pipeline fetches (feeds, images, webhooks) cannot reach internal
addresses unless configuration allows it.

Enforced where connections are made, not where URLs are read: ``guarded_session`` gives an
aiohttp session whose connector checks the address of every connection it opens, whether the
host is a name (after resolving it) or an IP literal, for the first request and for every
redirect hop (``Location`` or ``URI``, absolute or scheme-relative). Through a proxy, the
target is resolved and checked here before the request goes to the proxy (which resolves it
again: a name whose DNS answer changes between the two lookups is outside this guard's reach).
Loopback, private, link-local, multicast and reserved addresses are refused, and so are IPv6
forms that carry such an IPv4 address (mapped, compatible, NAT64 ``64:ff9b::/96``, 6to4
``2002::/16``). Hosts listed in ``ALLOWED_URL_HOSTS`` (or everything, with
``ALLOW_PRIVATE_URLS``) are let through: local test servers and on-premises webhooks.
"""

from __future__ import annotations

import contextvars
import ipaddress
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import aiohttp
from aiohttp.abc import ResolveResult
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


_LOW32_EMBEDS = (
    ipaddress.IPv6Network("::/96"),  # IPv4-compatible (deprecated), and :: and ::1
    ipaddress.IPv6Network("64:ff9b::/96"),  # NAT64, well-known prefix (RFC 6052)
    ipaddress.IPv6Network("::ffff:0:0:0/96"),  # IPv4-translated (SIIT)
)
_LOCAL_NAT64 = ipaddress.IPv6Network("64:ff9b:1::/48")  # NAT64, local use (RFC 8215)


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """Return the IPv4 address an IPv6 address stands for (mapped, NAT64, 6to4...), if any."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if any(ip in net for net in _LOW32_EMBEDS):
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def is_public_address(address: str) -> bool:
    """Return True for a globally routable unicast address (IPv6 forms of IPv4 included)."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address):
        if ip in _LOCAL_NAT64:
            return False
        embedded = _embedded_ipv4(ip)
        if embedded is not None:
            ip = embedded
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
        return parsed  # a name: checked when the connector resolves it
    if not public:
        raise BlockedUrlError(_internal(host))
    return parsed


def _internal(host: str) -> str:
    return f"{host[:100]} is or resolves to an internal address; allow it with ALLOWED_URL_HOSTS"


_PROXY_HOST: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "netguard_proxy_host", default=None
)
"""The proxy a connection is being opened to: configured by the operator, so not checked."""


class GuardedConnector(aiohttp.TCPConnector):
    """A connector that opens connections only to addresses the policy allows.

    Every connection goes through ``_resolve_host`` (IP literals too), so each redirect hop is
    checked where it connects; a request through a proxy has its target checked first.
    """

    def __init__(self, policy: UrlPolicy, **kwargs: Any) -> None:
        """Keep the policy; ``kwargs`` go to ``aiohttp.TCPConnector``."""
        super().__init__(**kwargs)
        self._policy = policy

    async def _resolve_host(self, host: str, *args: Any, **kwargs: Any) -> list[ResolveResult]:
        results: list[ResolveResult] = await super()._resolve_host(host, *args, **kwargs)
        if self._policy.host_allowed(host) or host == _PROXY_HOST.get():
            return results
        allowed = [r for r in results if is_public_address(r["host"])]
        if not allowed:
            raise BlockedUrlError(_internal(host))
        return allowed

    async def _create_proxy_connection(self, req: Any, *args: Any, **kwargs: Any) -> Any:
        # The proxy resolves the target itself: resolve and check it here before sending.
        host = req.url.raw_host or ""
        await self._resolve_host(host, req.url.port or 0)
        token = _PROXY_HOST.set(req.proxy.raw_host if req.proxy is not None else None)
        try:
            return await super()._create_proxy_connection(req, *args, **kwargs)
        finally:
            _PROXY_HOST.reset(token)


def guarded_session(policy: UrlPolicy, **session_kwargs: Any) -> aiohttp.ClientSession:
    """Return a ClientSession that cannot reach internal addresses unless the policy allows."""

    async def on_request_start(
        _session: aiohttp.ClientSession, _ctx: SimpleNamespace, params: Any
    ) -> None:
        check_url(params.url, policy)  # an early, clear refusal; the connector is the guard

    trace = aiohttp.TraceConfig()
    trace.on_request_start.append(on_request_start)
    connector = GuardedConnector(policy)
    return aiohttp.ClientSession(connector=connector, trace_configs=[trace], **session_kwargs)
