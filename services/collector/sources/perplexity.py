"""Perplexity Sonar: ``POST /chat/completions`` with a ``json_schema`` response format.

Each record the model returned is kept verbatim plus ``"_citations"`` and ``"_search_results"``
(the processor treats them as candidates to verify). A ``<think>`` block is stripped before
parsing; ``finish_reason: "length"`` means the JSON was cut off: a failed extraction.
"""

from __future__ import annotations

import re
from typing import Any

import orjson

from services.collector.sources.base import Endpoint, Item, Outcome
from services.collector.sources.catalog import SourceJob
from services.collector.sources.errors import (
    ExtractionFailed,
    MalformedResponse,
    ProviderAuthError,
)
from services.collector.sources.http import Caller
from shared.events import RecordType

_THINK_RE = re.compile(r"<think>.*?</think>", re.DOTALL)

_FIELDS: dict[RecordType, tuple[list[str], list[str]]] = {
    RecordType.VEHICLES: (
        ["year", "make", "model", "price", "currency", "location", "url", "title"],
        ["make", "model", "url"],
    ),
    RecordType.EVENTS: (
        ["name", "event_type", "start_date", "end_date", "venue", "city", "state", "url"],
        ["name", "start_date", "city", "url"],
    ),
    RecordType.ARTICLES: (
        ["title", "url", "published_date", "author", "site", "summary"],
        ["title", "url"],
    ),
}


def response_format(record_type: RecordType) -> dict[str, Any]:
    """Return the ``response_format`` asking for a list of records of a type."""
    fields, required = _FIELDS[record_type]
    props: dict[str, Any] = {f: {"type": ["string", "number", "null"]} for f in fields}
    item = {"type": "object", "properties": props, "required": required}
    schema = {
        "type": "object",
        "properties": {record_type.value: {"type": "array", "items": item}},
        "required": [record_type.value],
    }
    return {
        "type": "json_schema",
        "json_schema": {"name": f"car_{record_type.value}", "schema": schema},
    }


def strip_think(content: str) -> str:
    """Return model output without ``<think>...</think>`` blocks (reasoning models)."""
    return _THINK_RE.sub("", content).strip()


def parse_records(provider: str, body: Any, record_type: RecordType) -> list[Item]:
    """Return the record objects of a completion, with its citations and search results.

    Raises:
        ExtractionFailed: cut off (``finish_reason: length``), or content is not the JSON asked.
        MalformedResponse: no ``choices[0].message.content``.
    """
    try:
        choice = body["choices"][0]
        content = choice["message"]["content"]
    except (KeyError, IndexError, TypeError) as exc:
        raise MalformedResponse(provider, 200, "no choices[0].message.content") from exc
    if choice.get("finish_reason") == "length":
        raise ExtractionFailed(provider, 200, "answer cut off (finish_reason: length)")
    try:
        parsed = orjson.loads(strip_think(str(content)))
    except orjson.JSONDecodeError as exc:
        raise ExtractionFailed(provider, 200, f"answer is not JSON: {exc}") from exc
    records = parsed.get(record_type.value) if isinstance(parsed, dict) else parsed
    if not isinstance(records, list):
        raise ExtractionFailed(provider, 200, f"answer has no list under {record_type.value!r}")
    extras = {
        "_citations": body.get("citations") or [],
        "_search_results": body.get("search_results") or [],
    }
    return [{**record, **extras} for record in records if isinstance(record, dict)]


async def collect(
    caller: Caller, endpoint: Endpoint, job: SourceJob, record_type: RecordType
) -> Outcome:
    """Ask the model for records of ``record_type`` about ``job.query``."""
    if endpoint.key is None:
        raise ProviderAuthError(caller.provider, None, "COLLECTOR_PERPLEXITY_API_KEY is not set")
    body: dict[str, Any] = {
        "model": job.model,
        "messages": [
            {"role": "system", "content": "Answer only with JSON matching the schema."},
            {"role": "user", "content": job.query or ""},
        ],
        "response_format": response_format(record_type),
        **job.options,
    }
    if job.domains:
        body["search_domain_filter"] = job.domains[:20]
    response = await caller.request(
        "POST", endpoint.url("/chat/completions"), json=body, headers=endpoint.bearer()
    )
    data = response.json()
    usage = data.get("usage") if isinstance(data, dict) else None
    if isinstance(usage, dict) and isinstance(usage.get("cost"), dict):
        caller.usage.add_credits(usage["cost"].get("total_cost"))
    return Outcome(items=parse_records(caller.provider, data, record_type))
