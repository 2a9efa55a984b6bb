"""Fake Apify, Brave, Tavily, Perplexity, Jina and JSON-feed servers on 127.0.0.1, random ports.

Each fake speaks the documented protocol (docs: source-apis.md, "what the fake must do") and has
failure switches. ``FakeState.failures`` is a queue: each request first takes the next switch,
if any, and answers with it instead of the normal answer:

| switch        | answer                                                        |
| ------------- | ------------------------------------------------------------- |
| ``429``       | 429 in the provider's error shape, no ``Retry-After``          |
| ``429-ra``    | 429 with ``Retry-After: <retry_after>`` (seconds)              |
| ``429-date``  | 429 with ``Retry-After`` as an HTTP date                       |
| ``500``/``503``| 5xx JSON error                                                |
| ``524``       | Cloudflare's HTML 524 page                                     |
| ``401-html``  | 401 as an HTML page (Perplexity's openresty page)              |
| ``400``       | 400 in the provider's error shape                              |
| ``slow``      | waits ``slow_s`` before answering normally (client timeout)    |
| ``malformed`` | 200 ``application/json`` whose body is not JSON                |
| ``reset``     | closes the connection without an answer                        |
| ``huge``      | 200 JSON streamed without a length, ``huge_bytes`` long        |

``FakeState.empty = True`` makes successful answers carry no items. Every request is recorded.
Perplexity answers ``FakeState.answers`` (records by record type) with
``FakeState.search_results`` as its citations and search results, when set, else the fixtures.
``FakeState.datasets`` holds Apify datasets by id (any other id reads the fixture items); like
Apify, a dataset read without ``limit`` returns every item (``X-Apify-Pagination-Limit:
999999999999``), and ``clean=true`` skips empty items while ``Count`` still counts them.

Usage::

    async with start_fakes() as fakes:
        fakes.url("brave")  # base URL to configure the client with
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import orjson
from aiohttp import web

from tests.fakes import fixtures

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
KEYS = {
    "apify": "apify_api_test",
    "brave": "brave-test-key",
    "tavily": "tvly-test",
    "perplexity": "pplx-test",
    "jina": "jina_test",
}
PERPLEXITY_MODELS = frozenset({"sonar", "sonar-pro", "sonar-reasoning-pro", "sonar-deep-research"})
HTML_401 = (
    "<html><head><title>401 Authorization Required</title></head><body><center>"
    "<h1>401 Authorization Required</h1></center><hr><center>openresty</center></body></html>"
)
BODY = web.RequestKey("json", object)
HTML_524 = "<!DOCTYPE html><html><head><title>524: A timeout occurred</title></head></html>"


@dataclass
class Seen:
    """One request a fake received."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any


@dataclass
class FakeState:
    """Switches and the request log of one fake provider."""

    failures: list[str] = field(default_factory=list)
    empty: bool = False
    retry_after: int = 1
    slow_s: float = 5.0
    huge_bytes: int = 3 << 20
    huge_sent: int = 0
    think: bool = False
    truncated: bool = False
    brave_per_second: int = 1000
    datasets: dict[str, list[Any]] = field(default_factory=dict)
    answers: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    search_results: list[dict[str, Any]] | None = None
    requests: list[Seen] = field(default_factory=list)
    _second: tuple[int, int] = (0, 0)


def _json(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(
        body=orjson.dumps(data), status=status, headers=headers, content_type="application/json"
    )


def _error_body(provider: str, status: int, message: str) -> Any:
    if provider == "apify":
        return {"error": {"type": "rate-limit-exceeded", "message": message}}
    if provider == "brave":
        code = "RATE_LIMITED" if status == 429 else "INTERNAL"
        return {
            "type": "ErrorResponse",
            "error": {"status": status, "code": code, "detail": message},
        }
    if provider == "tavily":
        return {"detail": {"error": message}}
    if provider == "jina":
        return {"data": None, "code": status, "status": status * 100 + 3, "message": message}
    return {"error": {"message": message, "type": "error", "code": status}}


async def _huge(state: FakeState, request: web.Request) -> web.StreamResponse:
    """Stream ``huge_bytes`` of a JSON list (chunked: no length to refuse it by); count them."""
    response = web.StreamResponse(headers={"Content-Type": "application/json"})
    await response.prepare(request)
    chunk = b'{"id": "x"},' * 5_000
    try:
        await response.write(b"[")
        while state.huge_sent < state.huge_bytes:
            await response.write(chunk)
            state.huge_sent += len(chunk)
        await response.write(b"{}]")
    except (ConnectionResetError, aiohttp.ClientConnectionResetError):
        pass  # the client stopped reading
    return response


async def _switch(
    provider: str, state: FakeState, request: web.Request
) -> web.StreamResponse | None:
    if not state.failures:
        return None
    switch = state.failures.pop(0)
    if switch == "slow":
        await asyncio.sleep(state.slow_s)  # simulates a slow provider; the client times out
        return None
    if switch == "reset":
        assert request.transport is not None
        request.transport.close()
        return web.Response(status=500)
    if switch == "malformed":
        return web.Response(body=b'{"results": [', content_type="application/json")
    if switch == "huge":
        return await _huge(state, request)
    if switch in ("401-html", "524"):
        status = 401 if switch == "401-html" else 524
        return web.Response(
            text=HTML_401 if status == 401 else HTML_524, status=status, content_type="text/html"
        )
    status = int(switch.split("-")[0])
    headers = {}
    if switch == "429-ra":
        headers["Retry-After"] = str(state.retry_after)
    elif switch == "429-date":
        headers["Retry-After"] = email.utils.formatdate(
            time.time() + state.retry_after, usegmt=True
        )
    return _json(_error_body(provider, status, f"fake {switch}"), status, headers)


def _app(provider: str, state: FakeState, routes: list[web.RouteDef]) -> web.Application:
    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        raw = await request.read()
        try:
            body = orjson.loads(raw) if raw else None
        except orjson.JSONDecodeError:
            body = raw.decode(errors="replace")
        state.requests.append(
            Seen(request.method, request.raw_path, dict(request.query), dict(request.headers), body)
        )
        request[BODY] = body
        switched = await _switch(provider, state, request)
        return switched if switched is not None else await handler(request)

    app = web.Application(middlewares=[middleware])
    app.add_routes(routes)
    return app


def _bearer_ok(request: web.Request, provider: str) -> bool:
    return request.headers.get("Authorization") == f"Bearer {KEYS[provider]}"


def _slice(items: list[Any], request: web.Request) -> tuple[list[Any], int, int]:
    offset = int(request.query.get("offset", "0"))
    limit = int(request.query.get("limit", "999999999999"))
    return items[offset : offset + limit], offset, limit


def apify_app(state: FakeState) -> web.Application:
    """Return the Apify fake: run-sync-get-dataset-items on both prefixes, dataset items."""

    def auth(request: web.Request) -> web.Response | None:
        if _bearer_ok(request, "apify") or request.query.get("token") == KEYS["apify"]:
            return None
        body = {"error": {"type": "invalid-token", "message": "Authentication token is not valid."}}
        return _json(body, 401)

    def page(request: web.Request, status: int) -> web.Response:
        dataset = request.match_info.get("dataset", "")
        items = [] if state.empty else state.datasets.get(dataset, fixtures.APIFY_ITEMS)
        chunk, offset, limit = _slice(items, request)
        headers = {
            "X-Apify-Pagination-Offset": str(offset),
            "X-Apify-Pagination-Limit": str(limit),
            "X-Apify-Pagination-Count": str(len(chunk)),
            "X-Apify-Pagination-Total": str(len(items)),
            "X-RateLimit-Limit": "60",
        }
        if request.query.get("clean") in ("true", "1"):
            chunk = [item for item in chunk if item]
        return _json(chunk, status, headers)

    async def run_sync(request: web.Request) -> web.Response:
        if (refused := auth(request)) is not None:
            return refused
        if request.match_info["actor"] == "missing~actor":
            return _json(
                {"error": {"type": "record-not-found", "message": "Actor was not found"}}, 404
            )
        return page(request, 201)

    async def dataset(request: web.Request) -> web.Response:
        return auth(request) or page(request, 200)

    routes = []
    for prefix in ("acts", "actors"):
        path = f"/v2/{prefix}/{{actor}}/run-sync-get-dataset-items"
        routes += [web.post(path, run_sync), web.get(path, run_sync)]
    routes.append(web.get("/v2/datasets/{dataset}/items", dataset))
    return _app("apify", state, routes)


def _brave_headers(state: FakeState) -> dict[str, str]:
    now = int(time.time())
    second, used = state._second
    used = used if second == now else 0
    remaining = max(0, state.brave_per_second - used)
    return {
        "X-RateLimit-Limit": f"{state.brave_per_second}, 15000",
        "X-RateLimit-Policy": f"{state.brave_per_second};w=1, 15000;w=2592000",
        "X-RateLimit-Remaining": f"{remaining}, 14000",
        "X-RateLimit-Reset": "1, 1419704",
    }


def _brave_error(status: int, code: str, detail: str, headers: dict[str, str]) -> web.Response:
    body = {
        "type": "ErrorResponse",
        "error": {"id": "fake", "status": status, "code": code, "detail": detail, "meta": {}},
        "time": int(time.time()),
    }
    return _json(body, status, headers)


def brave_app(state: FakeState) -> web.Application:
    """Return the Brave fake: ``GET /res/v1/web/search`` with rate-limit headers and 422s."""

    async def search(request: web.Request) -> web.Response:
        headers = _brave_headers(state)
        if request.headers.get("X-Subscription-Token") != KEYS["brave"]:
            return _brave_error(
                422,
                "SUBSCRIPTION_TOKEN_INVALID",
                "The provided subscription token is invalid.",
                headers,
            )
        q = request.query.get("q", "")
        count, offset = int(request.query.get("count", "20")), int(request.query.get("offset", "0"))
        if (
            not q
            or len(q) > 400
            or len(q.split()) > 50
            or not 1 <= count <= 20
            or not 0 <= offset <= 9
        ):
            return _brave_error(
                422, "VALIDATION", "Unable to validate request parameter(s)", headers
            )
        now = int(time.time())
        second, used = state._second
        used = used if second == now else 0
        if used >= state.brave_per_second:
            return _brave_error(
                429, "RATE_LIMITED", "Request rate limit exceeded for plan", headers
            )
        state._second = (now, used + 1)
        items = [] if state.empty else fixtures.BRAVE_RESULTS
        chunk = items[offset * count : offset * count + count]
        more = offset * count + count < len(items)
        body = {
            "type": "search",
            "query": {"original": q, "more_results_available": more},
            "web": {"type": "search", "results": chunk},
        }
        return _json(body, 200, _brave_headers(state))

    return _app("brave", state, [web.get("/res/v1/web/search", search)])


def tavily_app(state: FakeState) -> web.Application:
    """Return the Tavily fake: ``POST /search`` and ``POST /extract``, key in header or body."""

    def refused(request: web.Request) -> web.Response | None:
        body = request[BODY] if isinstance(request[BODY], dict) else {}
        if _bearer_ok(request, "tavily") or body.get("api_key") == KEYS["tavily"]:
            return None
        return _json({"detail": {"error": "Unauthorized: missing or invalid API key."}}, 401)

    async def search(request: web.Request) -> web.Response:
        if (answer := refused(request)) is not None:
            return answer
        body = request[BODY]
        if not body.get("query") or body.get("search_depth", "basic") not in (
            "basic",
            "advanced",
            "fast",
            "ultra-fast",
        ):
            return _json({"detail": {"error": "Invalid request parameters."}}, 400)
        results = [] if state.empty else fixtures.TAVILY_RESULTS[: int(body.get("max_results", 5))]
        data: dict[str, Any] = {
            "query": body["query"],
            "answer": None,
            "images": [],
            "results": results,
            "response_time": 0.4,
        }
        if body.get("include_usage"):
            data["usage"] = {"credits": 1}
        return _json(data)

    async def extract(request: web.Request) -> web.Response:
        if (answer := refused(request)) is not None:
            return answer
        urls = request[BODY].get("urls") or []
        ok = [
            {"url": u, "raw_content": f"# Page {u}", "images": []}
            for u in urls
            if "broken" not in u
        ]
        failed = [{"url": u, "error": "Failed to fetch url"} for u in urls if "broken" in u]
        return _json({"results": ok, "failed_results": failed, "response_time": 0.8})

    return _app("tavily", state, [web.post("/search", search), web.post("/extract", extract)])


def perplexity_app(state: FakeState) -> web.Application:
    """Return the Perplexity fake: ``POST /chat/completions`` with a json_schema answer."""

    async def chat(request: web.Request) -> web.Response:
        if not _bearer_ok(request, "perplexity"):
            return web.Response(text=HTML_401, status=401, content_type="text/html")
        body = request[BODY]
        if body.get("model") not in PERPLEXITY_MODELS:
            error = {
                "message": f"Invalid model '{body.get('model')}'.",
                "type": "invalid_model",
                "code": 400,
            }
            return _json({"error": error}, 400)
        fmt = body.get("response_format") or {}
        schema = (fmt.get("json_schema") or {}).get("schema") or {}
        key = next(iter(schema.get("properties") or {"events": None}))
        answers = state.answers or fixtures.PERPLEXITY_RECORDS
        records = [] if state.empty else answers.get(key, [])
        results = fixtures.PERPLEXITY_SEARCH_RESULTS
        if state.search_results is not None:
            results = state.search_results
        content = orjson.dumps({key: records}).decode()
        if state.think:
            content = "<think>Looking for sources first.</think>\n" + content
        finish = "stop"
        if state.truncated:
            content, finish = content[: len(content) // 2], "length"
        return _json(
            {
                "id": "fake-1",
                "model": body["model"],
                "object": "chat.completion",
                "created": 1781000000,
                "choices": [
                    {
                        "index": 0,
                        "finish_reason": finish,
                        "message": {"role": "assistant", "content": content},
                        "delta": {"role": "assistant", "content": ""},
                    }
                ],
                "citations": [r["url"] for r in results],
                "search_results": results,
                "usage": {
                    "prompt_tokens": 18,
                    "completion_tokens": 41,
                    "total_tokens": 59,
                    "cost": {"total_cost": 0.00665},
                },
            }
        )

    return _app("perplexity", state, [web.post("/chat/completions", chat)])


def jina_reader_app(state: FakeState) -> web.Application:
    """Return the Jina Reader fake: ``GET /<url>`` (JSON envelope or the plain-text layout)."""

    async def read(request: web.Request) -> web.Response:
        target = request.raw_path.lstrip("/")
        if "unreachable" in target:
            body = {
                "data": None,
                "code": 422,
                "name": "AssertionFailureError",
                "status": 42206,
                "message": f"Failed to goto {target}",
                "readableMessage": f"AssertionFailureError: Failed to goto {target}",
            }
            return _json(body, 422)
        page = {**fixtures.JINA_PAGE, "url": target}
        if "json" not in request.headers.get("Accept", ""):
            text = (
                f"Title: {page['title']}\n\nURL Source: {target}\n\n"
                f"Markdown Content:\n{page['content']}"
            )
            return web.Response(text=text)
        return _json({"code": 200, "status": 20000, "data": page})

    return _app("jina", state, [web.get("/{target:.*}", read)])


def jina_search_app(state: FakeState) -> web.Application:
    """Return the Jina Search fake: ``GET /search?q=``, key required."""

    async def search(request: web.Request) -> web.Response:
        if not _bearer_ok(request, "jina"):
            body = {
                "data": None,
                "code": 401,
                "name": "AuthenticationRequiredError",
                "status": 40103,
                "message": "Authentication is required to use this endpoint.",
            }
            return _json(body, 401)
        data = [] if state.empty else fixtures.JINA_SEARCH
        return _json(
            {"code": 200, "status": 20000, "data": data, "meta": {"usage": {"tokens": 2210}}}
        )

    return _app("jina", state, [web.get("/search", search)])


def feed_app(state: FakeState) -> web.Application:
    """Return a JSON feed of dealer listings at ``/feed.json`` (``{"listings": [...]}``)."""

    async def feed(request: web.Request) -> web.Response:
        return _json(
            {"dealer": "Fake Classics", "listings": [] if state.empty else fixtures.FEED_LISTINGS}
        )

    return _app("feed", state, [web.get("/feed.json", feed)])


BUILDERS: dict[str, Callable[[FakeState], web.Application]] = {
    "apify": apify_app,
    "brave": brave_app,
    "tavily": tavily_app,
    "perplexity": perplexity_app,
    "jina": jina_reader_app,
    "jina_search": jina_search_app,
    "feed": feed_app,
}
PATHS = {"brave": "/res/v1"}


@dataclass
class Fakes:
    """The running fakes: their states and base URLs."""

    states: dict[str, FakeState]
    urls: dict[str, str]

    def url(self, name: str) -> str:
        """Return the base URL a client of ``name`` is configured with."""
        return self.urls[name]

    def state(self, name: str) -> FakeState:
        """Return the switches and request log of a fake."""
        return self.states[name]

    def env(self) -> dict[str, str]:
        """Return ``COLLECTOR_*`` variables that point the collector at the fakes, with keys."""
        return {
            "COLLECTOR_APIFY_BASE_URL": self.url("apify"),
            "COLLECTOR_BRAVE_BASE_URL": self.url("brave"),
            "COLLECTOR_TAVILY_BASE_URL": self.url("tavily"),
            "COLLECTOR_PERPLEXITY_BASE_URL": self.url("perplexity"),
            "COLLECTOR_JINA_READER_BASE_URL": self.url("jina"),
            "COLLECTOR_JINA_SEARCH_BASE_URL": self.url("jina_search"),
            **{f"COLLECTOR_{name.upper()}_API_KEY": key for name, key in KEYS.items()},
        }


@contextlib.asynccontextmanager
async def start_fakes() -> AsyncIterator[Fakes]:
    """Start every fake on 127.0.0.1 with a random port; stop them on exit."""
    states = {name: FakeState() for name in BUILDERS}
    runners: list[web.AppRunner] = []
    urls = {}
    try:
        for name, build in BUILDERS.items():
            runner = web.AppRunner(build(states[name]), access_log=None)
            await runner.setup()
            runners.append(runner)
            site = web.TCPSite(runner, "127.0.0.1", 0)
            await site.start()
            port = runner.addresses[0][1]
            urls[name] = f"http://127.0.0.1:{port}{PATHS.get(name, '')}"
        yield Fakes(states, urls)
    finally:
        for runner in runners:
            await runner.cleanup()
