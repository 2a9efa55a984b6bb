"""A generic JSON feed: ``GET <url>`` returning listings as an array or under a key."""

from __future__ import annotations

from services.collector.sources.base import Endpoint, Outcome
from services.collector.sources.catalog import SourceJob
from services.collector.sources.errors import MalformedResponse
from services.collector.sources.http import Caller
from shared.events import RecordType

ENVELOPE_KEYS = ("items", "listings", "data", "results", "records")


async def collect(
    caller: Caller, endpoint: Endpoint, job: SourceJob, record_type: RecordType
) -> Outcome:
    """Return the feed's items verbatim."""
    if not job.url:
        return Outcome(warnings=["feed job without url"])
    response = await caller.request(
        "GET", job.url, params=job.options or None, headers={"Accept": "application/json"}
    )
    body = response.json()
    if isinstance(body, dict):
        keys = [job.items_key] if job.items_key else [*ENVELOPE_KEYS, record_type.value]
        body = next((body[k] for k in keys if isinstance(body.get(k), list)), None)
    if not isinstance(body, list):
        raise MalformedResponse(caller.provider, response.status, "no list of items in the feed")
    return Outcome(items=[item for item in body if isinstance(item, dict)])
