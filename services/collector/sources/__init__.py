"""Provider clients, one module each, and the registry the collection run uses."""

from __future__ import annotations

from services.collector.sources import apify, brave, feed, jina, perplexity, tavily
from services.collector.sources.base import Client

CLIENTS: dict[str, Client] = {
    "apify": apify.collect,
    "brave": brave.collect,
    "tavily": tavily.collect,
    "perplexity": perplexity.collect,
    "jina": jina.collect,
    "feed": feed.collect,
}
