"""A collection run end to end against the fake providers, with a fake ledger and publisher."""

from __future__ import annotations

from pathlib import Path

import aiohttp
import orjson
import pytest

from services.collector import meta
from services.collector.proxies import ProxyPool
from services.collector.ratelimit import Aimd, LocalRateLimiter
from services.collector.runs import CollectDeps, scrape
from services.collector.sources.catalog import Catalog, SourceJob, load_catalog
from services.collector.sources.http import Politeness
from services.collector.sources.usage import Usage
from shared.errors import ConfigError
from shared.events import AlertRaised, FileCollected, ProviderUsage, RecordType, ScrapeCompleted
from tests.fakes.providers import Fakes
from tests.unit.collector.fakes import NOON, FakePublisher, make_deps
from tests.unit.collector.helpers import Sleeps, endpoint

VEHICLES = RecordType.VEHICLES


def _deps(
    root: Path, fakes: Fakes, session: aiohttp.ClientSession, jobs: list[SourceJob], **keys: str
) -> tuple[CollectDeps, FakePublisher]:
    publisher = FakePublisher()
    sleeps = Sleeps()
    polite = Politeness(
        limiter=LocalRateLimiter({}, burst=50, clock=sleeps.clock, sleep=sleeps, default_rate=500),
        aimd=Aimd(maximum=2),
        proxies=ProxyPool([]),
        attempts=2,
        base_wait_s=0.01,
        sleep=sleeps,
    )
    providers = ["apify", "brave", "tavily", "perplexity", "jina", "feed"]
    deps = CollectDeps(
        intake=make_deps(root, publisher),
        session=session,
        catalog=Catalog(vehicles=jobs),
        endpoints={p: endpoint(fakes, p, key=keys.get(p, "valid")) for p in providers},
        politeness=dict.fromkeys(providers, polite),
        max_records_per_file=20,
    )
    return deps, publisher


def _of(publisher: FakePublisher, kind: type) -> list:
    return [e for e in publisher.events if isinstance(e, kind)]


async def test_run_writes_verbatim_files_meta_and_events(
    tmp_path: Path, fakes: Fakes, session: aiohttp.ClientSession
) -> None:
    """45 Brave results become brave_001..003 (20 per file), announced, recorded and counted."""
    jobs = [SourceJob(provider="brave", query="mustang", pages=5)]
    deps, publisher = _deps(tmp_path, fakes, session, jobs)
    [result] = await scrape(deps, VEHICLES)
    folder = deps.intake.data.raw(NOON.date(), VEHICLES)
    names = sorted(p.name for p in folder.glob("brave_*.json"))
    assert names == ["brave_001.json", "brave_002.json", "brave_003.json"]
    first = orjson.loads((folder / "brave_001.json").read_bytes())
    assert len(first) == 20
    assert first[0]["url"] == "https://www.classiccars.example/listing/mustang-0"
    collected = _of(publisher, FileCollected)
    assert [(e.source, e.tool, e.record_count) for e in collected] == [
        ("brave", "brave", 20),
        ("brave", "brave", 20),
        ("brave", "brave", 5),
    ]
    [completed] = _of(publisher, ScrapeCompleted)
    assert (completed.records, completed.provider, completed.query) == (45, "brave", "mustang")
    assert len(completed.files) == 3
    [usage] = _of(publisher, ProviderUsage)
    assert (usage.requests, usage.statuses) == (3, {"200": 3})
    [run] = meta.read_runs(folder)
    assert run["run_id"] == result.run_id
    assert run["http_statuses"] == {"200": 3}
    assert all(e["event_published"] for e in meta.read_entries(folder))


async def test_same_items_again_are_recorded_as_duplicates(
    tmp_path: Path, fakes: Fakes, session: aiohttp.ClientSession
) -> None:
    """Collecting the same items twice writes no second copy of identical content."""
    jobs = [SourceJob(provider="feed", url=fakes.url("feed") + "/feed.json")]
    deps, publisher = _deps(tmp_path, fakes, session, jobs)
    await scrape(deps, VEHICLES)
    [second] = await scrape(deps, VEHICLES)
    folder = deps.intake.data.raw(NOON.date(), VEHICLES)
    assert second.files == []
    assert [p.name for p in folder.glob("feed_*.json")] == ["feed_001.json"]
    assert meta.read_entries(folder)[-1]["duplicate_of"].endswith("feed_001.json")
    assert len(_of(publisher, FileCollected)) == 1


async def test_bad_key_raises_an_alert_and_writes_nothing(
    tmp_path: Path, fakes: Fakes, session: aiohttp.ClientSession
) -> None:
    """A wrong Brave key gives an AlertRaised ``provider_auth_failed`` and a run with the error."""
    jobs = [SourceJob(provider="brave", query="mustang")]
    deps, publisher = _deps(tmp_path, fakes, session, jobs, brave="wrong")
    [result] = await scrape(deps, VEHICLES)
    [alert] = _of(publisher, AlertRaised)
    assert (alert.kind, alert.severity, alert.details["status"]) == (
        "provider_auth_failed",
        "critical",
        422,
    )
    assert "wrong" not in alert.message
    assert result.files == []
    assert "422" in result.errors[0]
    assert _of(publisher, ScrapeCompleted)[0].errors == result.errors


async def test_bad_request_raises_a_bad_request_alert(
    tmp_path: Path, fakes: Fakes, session: aiohttp.ClientSession
) -> None:
    """An unknown Apify actor (404) is a ``provider_bad_request`` alert."""
    jobs = [SourceJob(provider="apify", actor="missing~actor")]
    deps, publisher = _deps(tmp_path, fakes, session, jobs)
    await scrape(deps, VEHICLES)
    assert [a.kind for a in _of(publisher, AlertRaised)] == ["provider_bad_request"]


async def test_job_without_key_is_skipped(
    tmp_path: Path, fakes: Fakes, session: aiohttp.ClientSession
) -> None:
    """A provider without a configured key is skipped, without an alert or a request."""
    jobs = [SourceJob(provider="tavily", query="x"), SourceJob(provider="apify", actor="me~a")]
    deps, publisher = _deps(tmp_path, fakes, session, jobs, tavily="")
    results = await scrape(deps, VEHICLES, provider="tavily")
    assert [r.skipped for r in results] == ["no API key configured"]
    assert publisher.events == []
    assert fakes.state("tavily").requests == []


async def test_transient_failure_that_persists_is_reported(
    tmp_path: Path, fakes: Fakes, session: aiohttp.ClientSession
) -> None:
    """5xx until the last attempt: the run completes with the error, no alert."""
    fakes.state("tavily").failures = ["503", "503"]
    jobs = [SourceJob(provider="tavily", query="x")]
    deps, publisher = _deps(tmp_path, fakes, session, jobs)
    [result] = await scrape(deps, VEHICLES)
    assert result.errors[0].startswith("gave up after retries")
    assert _of(publisher, AlertRaised) == []
    [usage] = _of(publisher, ProviderUsage)
    assert (usage.requests, usage.failures, usage.retries) == (2, 2, 1)


def test_default_catalog_loads() -> None:
    """The shipped sources file is valid and has jobs for every record type."""
    from services.collector.config import DEFAULT_SOURCES_FILE

    catalog = load_catalog(DEFAULT_SOURCES_FILE)
    assert all(catalog.jobs(t) for t in RecordType)


def test_bad_catalog_is_a_config_error(tmp_path: Path) -> None:
    """A sources file with an unknown field fails with one line naming the file."""
    path = tmp_path / "sources.json"
    path.write_text('{"vehicles": [{"provider": "brave", "qeury": "x"}]}')
    with pytest.raises(ConfigError, match=r"sources\.json"):
        load_catalog(path)


def test_usage_reports_the_mean_response_time_beside_its_quantiles() -> None:
    """The seed's "Avg Response" needs the mean of the requests' times, not only p50/p95."""
    usage = Usage("brave")
    for ms in (100.0, 200.0, 600.0):
        usage.record(200, ms, failed=False)
    event = usage.to_event()
    assert (event.latency_ms_mean, event.latency_ms_p50) == (300.0, 200.0)
    assert Usage("brave").to_event().latency_ms_mean is None
