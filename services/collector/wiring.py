"""Build the collection side of the collector from its settings: politeness, endpoints, deps."""

from __future__ import annotations

import aiohttp

from services.collector.config import PROVIDERS, CollectorSettings
from services.collector.intake import IntakeDeps
from services.collector.proxies import ProxyPool
from services.collector.ratelimit import Aimd, RateLimiter
from services.collector.runs import CollectDeps
from services.collector.sources.base import Endpoint
from services.collector.sources.catalog import load_catalog
from services.collector.sources.http import Politeness


def endpoints(settings: CollectorSettings) -> dict[str, Endpoint]:
    """Return each provider's base URL and key."""
    return {
        "apify": Endpoint(
            settings.apify_base_url, settings.apify_api_key, timeout_s=settings.apify_timeout_s
        ),
        "brave": Endpoint(settings.brave_base_url, settings.brave_api_key),
        "tavily": Endpoint(settings.tavily_base_url, settings.tavily_api_key),
        "perplexity": Endpoint(settings.perplexity_base_url, settings.perplexity_api_key),
        "jina": Endpoint(
            settings.jina_reader_base_url,
            settings.jina_api_key,
            extra_urls={"search": settings.jina_search_base_url},
        ),
        "feed": Endpoint(""),
    }


def politeness(settings: CollectorSettings, limiter: RateLimiter) -> dict[str, Politeness]:
    """Return each provider's politeness: the shared limiter, its own AIMD slots and proxies."""
    proxies = settings.proxy_list()
    return {
        provider: Politeness(
            limiter=limiter,
            aimd=Aimd(maximum=settings.max_concurrency),
            proxies=ProxyPool(proxies, settings.proxy_fail_limit, settings.proxy_rest_s),
            attempts=settings.retry_attempts,
            base_wait_s=settings.retry_base_s,
            max_wait_s=settings.retry_max_wait_s,
        )
        for provider in PROVIDERS
    }


def collect_deps(
    settings: CollectorSettings,
    intake: IntakeDeps,
    session: aiohttp.ClientSession,
    limiter: RateLimiter,
) -> CollectDeps:
    """Return everything a collection run needs.

    Raises:
        ConfigError: the sources file is unusable.
    """
    return CollectDeps(
        intake=intake,
        session=session,
        catalog=load_catalog(settings.sources_file),
        endpoints=endpoints(settings),
        politeness=politeness(settings, limiter),
        max_records_per_file=settings.max_records_per_file,
        timeout_s=settings.http_timeout_s,
        max_body_bytes=settings.max_response_bytes,
    )
