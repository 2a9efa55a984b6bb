"""Each provider client against its local fake server: success, pagination and failures."""

from __future__ import annotations

import pytest

from services.collector.sources import apify, brave, feed, jina, perplexity, tavily
from services.collector.sources.catalog import SourceJob
from services.collector.sources.errors import (
    ExtractionFailed,
    MalformedResponse,
    ProviderAuthError,
    ProviderBadRequest,
    ResponseTooLarge,
    TransientHttpError,
)
from shared.events import RecordType
from tests.fakes.providers import KEYS, Fakes
from tests.unit.collector.conftest import MakeCaller
from tests.unit.collector.helpers import Sleeps, endpoint

VEHICLES, EVENTS = RecordType.VEHICLES, RecordType.EVENTS


async def test_apify_run_sync_keeps_items_verbatim_with_actor(
    fakes: Fakes, make_caller: MakeCaller
) -> None:
    """An actor run returns the dataset items as sent, each tagged with ``_actor``."""
    job = SourceJob(provider="apify", actor="me~bat", input={"maxItems": 3})
    outcome = await apify.collect(make_caller("apify"), endpoint(fakes, "apify"), job, VEHICLES)
    assert len(outcome.items) == 3
    assert outcome.items[0]["title"] == "1967 Ford Mustang Fastback 4-Speed"
    assert {item["_actor"] for item in outcome.items} == {"me~bat"}
    seen = fakes.state("apify").requests[0]
    assert seen.path.startswith("/v2/acts/me~bat/run-sync-get-dataset-items")
    assert seen.headers["Authorization"] == f"Bearer {KEYS['apify']}"
    assert seen.body == {"maxItems": 3}


async def test_apify_dataset_pages_with_offset_and_limit(
    fakes: Fakes, make_caller: MakeCaller
) -> None:
    """Dataset items are read page by page until the pagination total is reached."""
    caller = make_caller("apify")
    items = await apify.read_dataset(caller, endpoint(fakes, "apify"), "ds1", page_size=2)
    assert [i["year"] for i in items] == [1967, 1972, 1965]
    offsets = [r.query["offset"] for r in fakes.state("apify").requests]
    assert offsets == ["0", "2"]


def _listings(n: int) -> list[dict[str, object]]:
    return [{"url": f"https://example.test/lot/{i}", "year": 1960 + i % 40} for i in range(n)]


async def test_apify_dataset_job_without_count_reads_the_whole_dataset(
    fakes: Fakes, make_caller: MakeCaller
) -> None:
    """A dataset job without ``count`` takes all 120 items, not the catalog's default 20."""
    fakes.state("apify").datasets["ds120"] = _listings(120)
    job = SourceJob(provider="apify", dataset="ds120")
    outcome = await apify.collect(make_caller("apify"), endpoint(fakes, "apify"), job, VEHICLES)
    assert [i["url"] for i in outcome.items] == [i["url"] for i in _listings(120)]
    assert {i["_actor"] for i in outcome.items} == {None}


async def test_apify_dataset_arrives_in_pages_up_to_the_total(
    fakes: Fakes, make_caller: MakeCaller
) -> None:
    """120 items in pages of 50: offsets 0, 50, 100, and the read stops at the total."""
    fakes.state("apify").datasets["ds120"] = _listings(120)
    items = await apify.read_dataset(
        make_caller("apify"), endpoint(fakes, "apify"), "ds120", page_size=50
    )
    assert len(items) == 120
    assert len({i["url"] for i in items}) == 120
    requests = fakes.state("apify").requests
    assert [(r.query["offset"], r.query["limit"]) for r in requests] == [
        ("0", "50"),
        ("50", "50"),
        ("100", "50"),
    ]


async def test_apify_dataset_count_still_caps(fakes: Fakes, make_caller: MakeCaller) -> None:
    """With ``count`` (times ``pages``) the job takes that many items and asks for no more."""
    fakes.state("apify").datasets["ds120"] = _listings(120)
    job = SourceJob(provider="apify", dataset="ds120", count=30, pages=2)
    outcome = await apify.collect(make_caller("apify"), endpoint(fakes, "apify"), job, VEHICLES)
    assert [i["url"] for i in outcome.items] == [i["url"] for i in _listings(60)]
    assert [r.query["limit"] for r in fakes.state("apify").requests] == ["60"]


async def test_apify_dataset_offset_follows_items_covered_not_returned(
    fakes: Fakes, make_caller: MakeCaller
) -> None:
    """``clean=true`` skips empty items; the next page starts after what the last one covered."""
    fakes.state("apify").datasets["holes"] = [{}, *_listings(3), {}, *_listings(5)[3:]]
    items = await apify.read_dataset(
        make_caller("apify"), endpoint(fakes, "apify"), "holes", page_size=3
    )
    assert [i["url"] for i in items] == [i["url"] for i in _listings(5)]
    assert [r.query["offset"] for r in fakes.state("apify").requests] == ["0", "3", "6"]


async def test_apify_bad_token_fails_at_once(fakes: Fakes, make_caller: MakeCaller) -> None:
    """A 401 is a bad key: no retry, a clear error."""
    job = SourceJob(provider="apify", actor="me~bat")
    with pytest.raises(ProviderAuthError, match="HTTP 401"):
        await apify.collect(
            make_caller("apify"), endpoint(fakes, "apify", key="nope"), job, VEHICLES
        )
    assert len(fakes.state("apify").requests) == 1


async def test_brave_pages_until_no_more_results(fakes: Fakes, make_caller: MakeCaller) -> None:
    """Brave's ``offset`` is a page index; paging stops when no more results are available."""
    job = SourceJob(provider="brave", query="mustang fastback", pages=5, count=20)
    outcome = await brave.collect(make_caller("brave"), endpoint(fakes, "brave"), job, VEHICLES)
    assert len(outcome.items) == 45
    assert outcome.items[0]["type"] == "search_result"
    assert [r.query["offset"] for r in fakes.state("brave").requests] == ["0", "1", "2"]


async def test_brave_bad_key_is_422_and_an_auth_error(
    fakes: Fakes, make_caller: MakeCaller
) -> None:
    """Brave answers a bad key with 422 SUBSCRIPTION_TOKEN_INVALID: an auth error, not retried."""
    job = SourceJob(provider="brave", query="mustang")
    with pytest.raises(ProviderAuthError, match="subscription token is invalid"):
        await brave.collect(
            make_caller("brave"), endpoint(fakes, "brave", key="bad"), job, VEHICLES
        )
    assert len(fakes.state("brave").requests) == 1


async def test_brave_validation_422_is_a_bad_request(fakes: Fakes, make_caller: MakeCaller) -> None:
    """A 422 VALIDATION (empty query) is a bad request, not an auth failure."""
    job = SourceJob(provider="brave", query="")
    with pytest.raises(ProviderBadRequest, match="validate"):
        await brave.collect(make_caller("brave"), endpoint(fakes, "brave"), job, VEHICLES)


async def test_brave_429_waits_for_the_rate_limit_reset(
    fakes: Fakes, make_caller: MakeCaller, sleeps: Sleeps
) -> None:
    """Without Retry-After, the first value of X-RateLimit-Reset is the wait before the retry."""
    fakes.state("brave").brave_per_second = 0
    job = SourceJob(provider="brave", query="mustang")
    caller = make_caller("brave", attempts=2)
    with pytest.raises(TransientHttpError, match="429"):
        await brave.collect(caller, endpoint(fakes, "brave"), job, VEHICLES)
    assert 1.0 in sleeps.waits
    assert caller.usage.statuses["429"] == 2
    assert caller.polite.aimd.limit == 1.0


async def test_tavily_429_honours_retry_after_seconds(
    fakes: Fakes, make_caller: MakeCaller, sleeps: Sleeps
) -> None:
    """A 429 with Retry-After is retried after exactly that wait."""
    fakes.state("tavily").failures = ["429-ra"]
    fakes.state("tavily").retry_after = 7
    caller = make_caller("tavily")
    job = SourceJob(provider="tavily", query="mustang", count=5)
    outcome = await tavily.collect(caller, endpoint(fakes, "tavily"), job, VEHICLES)
    assert len(outcome.items) == 2
    assert 7.0 in sleeps.waits
    assert caller.usage.retries == 1
    assert caller.usage.credits == 1.0


async def test_tavily_429_without_retry_after_backs_off_exponentially(
    fakes: Fakes, make_caller: MakeCaller, sleeps: Sleeps
) -> None:
    """Two 429s without advice wait with growing jittered backoff, then succeed."""
    fakes.state("tavily").failures = ["429", "429"]
    job = SourceJob(provider="tavily", query="mustang")
    outcome = await tavily.collect(make_caller("tavily"), endpoint(fakes, "tavily"), job, VEHICLES)
    assert outcome.items
    assert len(sleeps.waits) == 2
    assert all(0 < w < 1 for w in sleeps.waits)


async def test_tavily_extract_reports_failed_urls(fakes: Fakes, make_caller: MakeCaller) -> None:
    """Extract keeps good pages as items and turns ``failed_results`` into warnings."""
    job = SourceJob(
        provider="tavily", mode="extract", urls=["https://a.example/x", "https://broken.example"]
    )
    outcome = await tavily.collect(make_caller("tavily"), endpoint(fakes, "tavily"), job, VEHICLES)
    assert [i["url"] for i in outcome.items] == ["https://a.example/x"]
    assert outcome.warnings == ["extract failed: https://broken.example: Failed to fetch url"]


async def test_5xx_is_retried_then_succeeds(fakes: Fakes, make_caller: MakeCaller) -> None:
    """A 500 and a 503 are transient: retried, counted, then the answer is used."""
    fakes.state("tavily").failures = ["500", "503"]
    caller = make_caller("tavily")
    job = SourceJob(provider="tavily", query="mustang")
    outcome = await tavily.collect(caller, endpoint(fakes, "tavily"), job, VEHICLES)
    assert outcome.items
    assert dict(caller.usage.statuses) == {"500": 1, "503": 1, "200": 1}
    assert (caller.usage.requests, caller.usage.failures, caller.usage.retries) == (3, 2, 2)


async def test_5xx_gives_up_after_the_last_attempt(fakes: Fakes, make_caller: MakeCaller) -> None:
    """A provider that keeps failing raises the transient error after the last attempt."""
    fakes.state("tavily").failures = ["500"] * 5
    job = SourceJob(provider="tavily", query="mustang")
    with pytest.raises(TransientHttpError, match="HTTP 500"):
        await tavily.collect(
            make_caller("tavily", attempts=3), endpoint(fakes, "tavily"), job, VEHICLES
        )
    assert len(fakes.state("tavily").requests) == 3


async def test_432_account_limit_is_not_retried(fakes: Fakes, make_caller: MakeCaller) -> None:
    """Tavily's 432 (plan limit) is a permanent 4xx: one request, a bad-request error."""
    fakes.state("tavily").failures = ["432"]
    job = SourceJob(provider="tavily", query="mustang")
    with pytest.raises(ProviderBadRequest, match="432"):
        await tavily.collect(make_caller("tavily"), endpoint(fakes, "tavily"), job, VEHICLES)
    assert len(fakes.state("tavily").requests) == 1


async def test_slow_answer_times_out_and_is_retried(fakes: Fakes, make_caller: MakeCaller) -> None:
    """A response slower than the timeout counts as a transient failure and is retried."""
    fakes.state("feed").failures = ["slow"]
    fakes.state("feed").slow_s = 0.5
    caller = make_caller("feed", timeout_s=0.1)
    job = SourceJob(provider="feed", url=fakes.url("feed") + "/feed.json")
    outcome = await feed.collect(caller, endpoint(fakes, "feed"), job, VEHICLES)
    assert len(outcome.items) == 2
    assert caller.usage.statuses["error"] == 1


async def test_connection_reset_is_retried(fakes: Fakes, make_caller: MakeCaller) -> None:
    """A connection closed without an answer is retried."""
    fakes.state("feed").failures = ["reset"]
    job = SourceJob(provider="feed", url=fakes.url("feed") + "/feed.json")
    outcome = await feed.collect(make_caller("feed"), endpoint(fakes, "feed"), job, VEHICLES)
    assert [i["id"] for i in outcome.items] == ["A1", "A2"]


async def test_malformed_json_is_a_malformed_response(
    fakes: Fakes, make_caller: MakeCaller
) -> None:
    """A 200 whose body is not JSON fails clearly and is not retried."""
    fakes.state("tavily").failures = ["malformed"]
    job = SourceJob(provider="tavily", query="mustang")
    with pytest.raises(MalformedResponse, match="not JSON"):
        await tavily.collect(make_caller("tavily"), endpoint(fakes, "tavily"), job, VEHICLES)
    assert len(fakes.state("tavily").requests) == 1


@pytest.mark.parametrize("provider", ["apify", "brave", "tavily", "jina"])
async def test_empty_result_gives_no_items(
    fakes: Fakes, make_caller: MakeCaller, provider: str
) -> None:
    """An empty answer is a success with zero items."""
    fakes.state(provider).empty = True
    fakes.state("jina_search").empty = True
    job = SourceJob(provider=provider, query="nothing", actor="me~bat")
    client = {"apify": apify, "brave": brave, "tavily": tavily, "jina": jina}[provider]
    outcome = await client.collect(make_caller(provider), endpoint(fakes, provider), job, VEHICLES)
    assert outcome.items == []


async def test_perplexity_401_html_is_an_auth_error(fakes: Fakes, make_caller: MakeCaller) -> None:
    """Perplexity's 401 is an HTML page; the client reports it without parsing it as JSON."""
    job = SourceJob(provider="perplexity", query="events")
    with pytest.raises(ProviderAuthError, match="401 Authorization Required"):
        await perplexity.collect(
            make_caller("perplexity"), endpoint(fakes, "perplexity", key="bad"), job, EVENTS
        )


async def test_perplexity_records_keep_citations_and_strip_think(
    fakes: Fakes, make_caller: MakeCaller
) -> None:
    """Each record gets ``_citations`` and ``_search_results``; a ``<think>`` block is ignored."""
    fakes.state("perplexity").think = True
    caller = make_caller("perplexity")
    job = SourceJob(provider="perplexity", query="concours events")
    outcome = await perplexity.collect(caller, endpoint(fakes, "perplexity"), job, EVENTS)
    assert [r["name"] for r in outcome.items] == [
        "The Amelia Concours d'Elegance",
        "Unsupported Show",
    ]
    assert outcome.items[0]["name"] == "The Amelia Concours d'Elegance"
    assert outcome.items[0]["_citations"] == ["https://www.ameliaconcours.org/"]
    assert outcome.items[1]["_search_results"][0]["title"] == "The Amelia | Concours d'Elegance"
    body = fakes.state("perplexity").requests[0].body
    assert body["response_format"]["type"] == "json_schema"
    assert body["response_format"]["json_schema"]["name"] == "car_events"
    assert caller.usage.credits == pytest.approx(0.00665)


async def test_perplexity_cut_off_answer_is_a_failed_extraction(
    fakes: Fakes, make_caller: MakeCaller
) -> None:
    """``finish_reason: length`` means truncated JSON: a failed extraction."""
    fakes.state("perplexity").truncated = True
    job = SourceJob(provider="perplexity", query="events")
    with pytest.raises(ExtractionFailed, match="length"):
        await perplexity.collect(
            make_caller("perplexity"), endpoint(fakes, "perplexity"), job, EVENTS
        )


async def test_perplexity_unknown_model_is_a_bad_request(
    fakes: Fakes, make_caller: MakeCaller
) -> None:
    """A retired model name is a 400 ``invalid_model``: a bad request with its message."""
    job = SourceJob(provider="perplexity", query="events", model="llama-3.1-sonar-large")
    with pytest.raises(ProviderBadRequest, match="Invalid model"):
        await perplexity.collect(
            make_caller("perplexity"), endpoint(fakes, "perplexity"), job, EVENTS
        )


async def test_jina_reader_returns_the_data_object(fakes: Fakes, make_caller: MakeCaller) -> None:
    """The reader gets the target URL raw in the path and returns the ``data`` object."""
    target = "https://www.example-classics.com/news/pebble-beach-2026?a=1"
    job = SourceJob(provider="jina", mode="read", urls=[target, "https://unreachable.example/"])
    caller = make_caller("jina")
    outcome = await jina.collect(caller, endpoint(fakes, "jina", key=None), job, EVENTS)
    assert outcome.items[0]["url"] == target
    assert outcome.items[0]["publishedTime"] == "Mon, 20 Jul 2026 09:00:00 GMT"
    assert "422" in outcome.warnings[0]
    assert caller.usage.credits == 1843


async def test_jina_search_needs_a_key(fakes: Fakes, make_caller: MakeCaller) -> None:
    """Search without a key is refused before any request."""
    job = SourceJob(provider="jina", query="car shows")
    with pytest.raises(ProviderAuthError):
        await jina.collect(make_caller("jina"), endpoint(fakes, "jina", key=None), job, EVENTS)


async def test_jina_524_is_retried(fakes: Fakes, make_caller: MakeCaller) -> None:
    """Cloudflare's 524 HTML page is transient: the search is retried and succeeds."""
    fakes.state("jina_search").failures = ["524"]
    job = SourceJob(provider="jina", query="car shows")
    outcome = await jina.collect(make_caller("jina"), endpoint(fakes, "jina"), job, EVENTS)
    assert outcome.items[0]["url"] == "https://www.aaca.org/hershey-fall-meet/"


async def test_feed_reads_listings_under_a_key(fakes: Fakes, make_caller: MakeCaller) -> None:
    """A feed object's list (``listings``) is taken verbatim."""
    job = SourceJob(provider="feed", url=fakes.url("feed") + "/feed.json")
    outcome = await feed.collect(make_caller("feed"), endpoint(fakes, "feed"), job, VEHICLES)
    assert outcome.items[1] == {
        "id": "A2",
        "year": 1958,
        "make": "Mercedes-Benz",
        "model": "190SL",
        "price": 135000,
    }


async def test_an_oversized_answer_is_refused_with_the_setting_to_raise(
    fakes: Fakes, make_caller: MakeCaller
) -> None:
    """A feed answer past the body cap fails at once, naming the setting; not all of it is read."""
    state = fakes.state("feed")
    state.failures = ["huge"]
    state.huge_bytes = 50 << 20
    caller = make_caller("feed")
    caller.max_body_bytes = 1 << 20
    job = SourceJob(provider="feed", url=fakes.url("feed") + "/feed.json")
    with pytest.raises(ResponseTooLarge, match="COLLECTOR_MAX_RESPONSE_BYTES"):
        await feed.collect(caller, endpoint(fakes, "feed"), job, VEHICLES)
    assert len(state.requests) == 1  # permanent: not retried
    assert state.huge_sent < 20 << 20  # the client stopped reading


async def test_an_answer_within_the_cap_is_read(fakes: Fakes, make_caller: MakeCaller) -> None:
    """The same streamed answer below the cap is read whole."""
    state = fakes.state("feed")
    state.failures = ["huge"]
    state.huge_bytes = 1 << 20
    caller = make_caller("feed")
    caller.max_body_bytes = 2 << 20
    job = SourceJob(provider="feed", url=fakes.url("feed") + "/feed.json")
    response = await caller.request("GET", job.url)
    assert len(response.json()) > 10_000
