"""Jina: Reader (``GET <reader>/<url>``) and Search (``GET <search>/search?q=``), JSON envelope.

Items are the reader's ``data`` object per URL, or each ``data[]`` entry of a search.
"""

from __future__ import annotations

from typing import Any

from yarl import URL

from services.collector.sources.base import Endpoint, Item, Outcome
from services.collector.sources.catalog import SourceJob
from services.collector.sources.errors import MalformedResponse, ProviderAuthError, ProviderError
from services.collector.sources.http import Caller
from shared.events import RecordType

SEARCH_BASE = "search"


def _data(provider: str, status: int, body: Any) -> Any:
    if not isinstance(body, dict) or "data" not in body:
        raise MalformedResponse(provider, status, "expected {code, status, data}")
    return body["data"]


def _tokens(item: Item) -> float | None:
    usage = item.get("usage")
    return float(usage["tokens"]) if isinstance(usage, dict) and "tokens" in usage else None


async def read(caller: Caller, endpoint: Endpoint, target: str) -> Item:
    """Return the reader's ``data`` object for one URL (the URL goes into the path raw)."""
    url = URL(endpoint.base_url.rstrip("/") + "/" + target, encoded=True)
    headers = {**endpoint.bearer(), "Accept": "application/json"}
    response = await caller.request("GET", url, headers=headers)
    data = _data(caller.provider, response.status, response.json())
    if not isinstance(data, dict):
        raise MalformedResponse(caller.provider, response.status, "reader data is not an object")
    caller.usage.add_credits(_tokens(data))
    return data


async def search(caller: Caller, endpoint: Endpoint, query: str, count: int) -> list[Item]:
    """Return the search results (already read pages) of a query."""
    if endpoint.key is None:
        raise ProviderAuthError(caller.provider, None, "COLLECTOR_JINA_API_KEY is not set")
    response = await caller.request(
        "GET",
        endpoint.url("/search", SEARCH_BASE),
        params={"q": query, "count": min(count, 20)},
        headers={**endpoint.bearer(), "Accept": "application/json"},
    )
    data = _data(caller.provider, response.status, response.json())
    if not isinstance(data, list):
        raise MalformedResponse(caller.provider, response.status, "search data is not a list")
    items = [item for item in data if isinstance(item, dict)]
    for item in items:
        caller.usage.add_credits(_tokens(item))
    return items


async def collect(
    caller: Caller, endpoint: Endpoint, job: SourceJob, record_type: RecordType
) -> Outcome:
    """Run a search (``mode: search``) or read each of ``job.urls`` (``mode: read``)."""
    if job.mode != "read":
        return Outcome(items=await search(caller, endpoint, job.query or "", job.count))
    outcome = Outcome()
    for target in job.urls:
        try:
            outcome.items.append(await read(caller, endpoint, target))
        except ProviderError as exc:
            if exc.status not in (422, 451):  # one unreadable page does not stop the others
                raise
            outcome.warnings.append(f"{target}: {exc}")
    return outcome
