"""A collection run: ask each configured job's provider, store the items, report what happened.

Per job: the client fetches (politely, see ``sources.http``), the items are stored and announced
(``rawstore``), the run is recorded in ``meta.json``, then ``ScrapeCompleted`` and
``ProviderUsage`` are published. A bad key or a bad request raises an ``AlertRaised`` event.
A job whose provider needs a key that is not configured is skipped (logged, not alerted).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import structlog

from services.collector import meta, rawstore
from services.collector.intake import IntakeDeps
from services.collector.sources import CLIENTS
from services.collector.sources.base import Endpoint, Outcome
from services.collector.sources.catalog import Catalog, SourceJob
from services.collector.sources.errors import (
    ProviderAuthError,
    ProviderBadRequest,
    ProviderError,
    TransientHttpError,
)
from services.collector.sources.http import MAX_BODY_BYTES, Caller, Politeness
from services.collector.sources.usage import Usage
from shared.events import AlertRaised, RecordType, ScrapeCompleted

log = structlog.get_logger(__name__)

SERVICE = "collector"
KEYED = frozenset({"apify", "brave", "tavily", "perplexity"})


@dataclass
class CollectDeps:
    """What a collection run needs: intake seams, one HTTP session, jobs, endpoints, politeness."""

    intake: IntakeDeps
    session: aiohttp.ClientSession
    catalog: Catalog
    endpoints: dict[str, Endpoint]
    politeness: dict[str, Politeness]
    max_records_per_file: int = 500
    timeout_s: float = 60.0
    max_body_bytes: int = MAX_BODY_BYTES
    monotonic: Callable[[], float] = time.monotonic


@dataclass
class RunResult:
    """What one job's run did (also the trigger reply)."""

    run_id: str
    provider: str
    query: str
    files: list[str] = field(default_factory=list)
    records: int = 0
    errors: list[str] = field(default_factory=list)
    skipped: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """Return the result as JSON-ready data."""
        return {
            "run_id": self.run_id,
            "provider": self.provider,
            "query": self.query,
            "files": self.files,
            "records": self.records,
            "errors": self.errors,
            "skipped": self.skipped,
        }


def needs_key(job: SourceJob) -> bool:
    """Return True when a job's provider refuses calls without an API key."""
    return job.provider in KEYED or (job.provider == "jina" and job.mode != "read")


async def scrape(
    deps: CollectDeps, record_type: RecordType, provider: str | None = None
) -> list[RunResult]:
    """Run every job of a record type (optionally of one provider); jobs run concurrently."""
    jobs = deps.catalog.jobs(record_type, provider)
    return list(await asyncio.gather(*(run_job(deps, record_type, job) for job in jobs)))


async def _fetch(
    deps: CollectDeps, caller: Caller, job: SourceJob, record_type: RecordType, result: RunResult
) -> Outcome:
    try:
        return await CLIENTS[job.provider](caller, deps.endpoints[job.provider], job, record_type)
    except ProviderError as exc:
        result.errors.append(str(exc))
        if isinstance(exc, ProviderAuthError | ProviderBadRequest):
            await _alert(deps, exc, result)
        log.error("provider.failed", provider=job.provider, kind=exc.kind, error=str(exc))
    except TransientHttpError as exc:
        result.errors.append(f"gave up after retries: {exc}")
        log.error("provider.gave_up", provider=job.provider, error=str(exc))
    return Outcome()


async def run_job(deps: CollectDeps, record_type: RecordType, job: SourceJob) -> RunResult:
    """Run one job: fetch, store, record in ``meta.json``, publish the run's events."""
    result = RunResult(run_id=uuid.uuid4().hex[:12], provider=job.provider, query=job.label())
    if job.provider not in CLIENTS:
        result.skipped = f"unknown provider {job.provider!r}"
        return result
    if needs_key(job) and deps.endpoints[job.provider].key is None:
        result.skipped = "no API key configured"
        log.info("provider.skipped_no_key", provider=job.provider)
        return result
    started, started_at = deps.monotonic(), deps.intake.clock()
    usage = Usage(job.provider)
    polite = deps.politeness[job.provider]
    caller = Caller(job.provider, deps.session, polite, usage, deps.timeout_s, deps.max_body_bytes)
    outcome = await _fetch(deps, caller, job, record_type, result)
    result.errors.extend(outcome.warnings)
    run_fields = {"run_id": result.run_id, "query": result.query}
    result.files = await rawstore.store_items(
        deps.intake, record_type, job.provider, outcome.items, deps.max_records_per_file, run_fields
    )
    result.records = len(outcome.items)
    duration = deps.monotonic() - started
    await _record(deps, record_type, result, usage, started_at.isoformat(), duration)
    return result


async def _record(
    deps: CollectDeps,
    record_type: RecordType,
    result: RunResult,
    usage: Usage,
    started_at: str,
    duration: float,
) -> None:
    folder = deps.intake.data.raw(deps.intake.clock().date(), record_type)
    run: meta.Entry = {
        **result.as_dict(),
        "started_at": started_at,
        "duration_s": round(duration, 3),
        "requests": usage.requests,
        "retries": usage.retries,
        "http_statuses": dict(usage.statuses),
    }
    await asyncio.to_thread(meta.append_run, folder, run)
    await deps.intake.publish(
        ScrapeCompleted(
            run_id=result.run_id,
            record_type=record_type,
            provider=result.provider,
            query=result.query,
            files=result.files,
            records=result.records,
            errors=result.errors,
            duration_s=duration,
        )
    )
    await deps.intake.publish(usage.to_event())
    log.info("scrape.completed", **{k: v for k, v in run.items() if k != "files"})


async def _alert(deps: CollectDeps, exc: ProviderError, result: RunResult) -> None:
    await deps.intake.publish(
        AlertRaised(
            service=SERVICE,
            kind=exc.kind,
            severity="critical" if isinstance(exc, ProviderAuthError) else "warning",
            message=str(exc),
            details={"provider": exc.provider, "status": exc.status, "run_id": result.run_id},
        )
    )
