"""Apify: run an actor synchronously and take its dataset items, or page through a dataset.

Items are kept verbatim with ``"_actor": actorId`` added (the processor maps each actor's fields).
"""

from __future__ import annotations

from typing import Any

from services.collector.sources.base import Endpoint, Item, Outcome
from services.collector.sources.catalog import SourceJob
from services.collector.sources.errors import MalformedResponse
from services.collector.sources.http import Caller
from shared.events import RecordType

PAGE_LIMIT = 1000


def _items(provider: str, status: int, body: Any) -> list[Item]:
    if not isinstance(body, list):
        raise MalformedResponse(provider, status, "expected a JSON array of dataset items")
    return [item for item in body if isinstance(item, dict)]


async def collect(
    caller: Caller, endpoint: Endpoint, job: SourceJob, record_type: RecordType
) -> Outcome:
    """Return the items of an actor run (``job.actor``) or of a dataset (``job.dataset``)."""
    if job.dataset:
        items = await read_dataset(caller, endpoint, job.dataset, dataset_limit(job))
        return Outcome(items=[{**item, "_actor": job.actor or None} for item in items])
    if not job.actor:
        return Outcome(warnings=["apify job without actor or dataset"])
    response = await caller.request(
        "POST",
        endpoint.url(f"/v2/acts/{job.actor}/run-sync-get-dataset-items"),
        params={"format": "json", "clean": "true", **_str_params(job.options)},
        json=job.input,
        headers={**endpoint.bearer(), "Accept": "application/json"},
        timeout_s=endpoint.timeout_s or caller.timeout_s,
    )
    items = _items(caller.provider, response.status, response.json())
    return Outcome(items=[{**item, "_actor": job.actor} for item in items])


def dataset_limit(job: SourceJob) -> int | None:
    """Return how many dataset items a job asks for: ``count * pages`` if it sets ``count``.

    Without ``count`` the whole dataset is read (the catalog's default ``count`` is for search
    providers, not a cap on a dataset).
    """
    return job.count * job.pages if "count" in job.model_fields_set else None


async def read_dataset(
    caller: Caller,
    endpoint: Endpoint,
    dataset: str,
    limit: int | None = None,
    page_size: int = PAGE_LIMIT,
) -> list[Item]:
    """Page through ``/v2/datasets/{id}/items`` with offset/limit and the pagination headers.

    Reads until ``limit`` items (``None``: the whole dataset). The next offset advances by
    ``X-Apify-Pagination-Count`` (items the page covered: with ``clean=true`` Apify skips empty
    items, so a page may return fewer than it covered); the read ends at
    ``X-Apify-Pagination-Total``, or without that header at a short page.
    """
    items: list[Item] = []
    offset = 0
    while limit is None or len(items) < limit:
        page = min(page_size, limit - len(items)) if limit is not None else page_size
        response = await caller.request(
            "GET",
            endpoint.url(f"/v2/datasets/{dataset}/items"),
            params={"format": "json", "clean": "true", "offset": offset, "limit": page},
            headers=endpoint.bearer(),
        )
        batch = _items(caller.provider, response.status, response.json())
        items.extend(batch)
        covered = _int(response.headers.get("X-Apify-Pagination-Count"))
        advanced = covered if covered is not None else len(batch)
        offset += advanced
        total = _int(response.headers.get("X-Apify-Pagination-Total"))
        if advanced == 0 or (offset >= total if total is not None else len(batch) < page):
            break
    return items[:limit] if limit is not None else items


def _int(value: str | None) -> int | None:
    return int(value) if value and value.strip().isdigit() else None


def _str_params(options: dict[str, Any]) -> dict[str, str]:
    return {k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in options.items()}
