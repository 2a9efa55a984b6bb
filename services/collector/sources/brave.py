"""Brave Search: ``GET /web/search`` with ``X-Subscription-Token``; pages by ``offset``.

Items are the ``web.results[]`` entries, verbatim.
"""

from __future__ import annotations

from typing import Any

from services.collector.sources.base import Endpoint, Outcome
from services.collector.sources.catalog import SourceJob
from services.collector.sources.errors import MalformedResponse, ProviderAuthError
from services.collector.sources.http import Caller
from shared.events import RecordType


async def collect(
    caller: Caller, endpoint: Endpoint, job: SourceJob, record_type: RecordType
) -> Outcome:
    """Return the web results of ``job.query`` over up to ``job.pages`` pages."""
    if endpoint.key is None:
        raise ProviderAuthError(caller.provider, None, "COLLECTOR_BRAVE_API_KEY is not set")
    outcome = Outcome()
    for page in range(min(job.pages, 10)):
        params: dict[str, Any] = {
            "q": job.query or "",
            "count": min(job.count, 20),
            "offset": page,
            "text_decorations": "false",
            "result_filter": "web",
            **job.options,
        }
        response = await caller.request(
            "GET",
            endpoint.url("/web/search"),
            params=params,
            headers={
                "X-Subscription-Token": endpoint.key.get_secret_value(),
                "Accept": "application/json",
            },
        )
        body = response.json()
        if not isinstance(body, dict):
            raise MalformedResponse(caller.provider, response.status, "expected a JSON object")
        results = (body.get("web") or {}).get("results") or []
        outcome.items.extend(r for r in results if isinstance(r, dict))
        more = (body.get("query") or {}).get("more_results_available", False)
        if not results or not more:
            break
    return outcome
