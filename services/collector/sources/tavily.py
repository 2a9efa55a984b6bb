"""Tavily: ``POST /search`` and ``POST /extract`` with ``Authorization: Bearer``.

Items are the ``results[]`` entries, verbatim; ``failed_results`` of an extract become warnings.
"""

from __future__ import annotations

from typing import Any

from services.collector.sources.base import Endpoint, Outcome
from services.collector.sources.catalog import SourceJob
from services.collector.sources.errors import MalformedResponse, ProviderAuthError
from services.collector.sources.http import Caller
from shared.events import RecordType


def _body(job: SourceJob) -> tuple[str, dict[str, Any]]:
    if job.mode == "extract":
        return "/extract", {"urls": job.urls[:20], "format": "markdown", **job.options}
    body: dict[str, Any] = {
        "query": job.query or "",
        "max_results": min(job.count, 20),
        "include_usage": True,
        **job.options,
    }
    if job.domains:
        body["include_domains"] = job.domains
    return "/search", body


async def collect(
    caller: Caller, endpoint: Endpoint, job: SourceJob, record_type: RecordType
) -> Outcome:
    """Return the search (or extract) results of a job."""
    if endpoint.key is None:
        raise ProviderAuthError(caller.provider, None, "COLLECTOR_TAVILY_API_KEY is not set")
    path, body = _body(job)
    response = await caller.request(
        "POST", endpoint.url(path), json=body, headers=endpoint.bearer()
    )
    data = response.json()
    if not isinstance(data, dict) or not isinstance(data.get("results", []), list):
        raise MalformedResponse(caller.provider, response.status, "expected {results: [...]}")
    usage = data.get("usage")
    if isinstance(usage, dict):
        caller.usage.add_credits(usage.get("credits"))
    failed = data.get("failed_results") or []
    warnings = [
        f"extract failed: {f.get('url')}: {f.get('error')}" for f in failed if isinstance(f, dict)
    ]
    items = [r for r in data.get("results", []) if isinstance(r, dict)]
    return Outcome(items=items, warnings=warnings)
