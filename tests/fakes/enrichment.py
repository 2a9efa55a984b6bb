"""Local fakes of the hosts the processor's opt-in enrichment asks: Nominatim and an image host.

Nominatim's search API (https://nominatim.org/release-docs/latest/api/Search/): ``GET /search``
with ``q`` and ``format=json`` answers a JSON array of places, each with ``lat`` and ``lon`` as
strings and a ``display_name``; an unknown place is an empty array. While ``nominatim_down`` is
set, it answers 503 (an outage) to every search. The image host answers
``HEAD`` (and ``GET``) for its pictures with their type and size, and 404 for anything else.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from aiohttp import web

PLACES = {  # query -> (lat, lon, display name)
    "Tulsa, OK, USA": ("36.1556805", "-95.9929113", "Tulsa, Tulsa County, Oklahoma, United States"),
    "Austin, TX, USA": ("30.2711286", "-97.7436995", "Austin, Travis County, Texas, United States"),
}
PICTURES = {"/ok.jpg": b"\xff\xd8\xff\xe0" + bytes(1020)}


@dataclass
class Hosts:
    """The running fakes: base URLs, the queries Nominatim was asked, its outage switch."""

    nominatim_url: str = ""
    images_url: str = ""
    queries: list[str] = field(default_factory=list)
    nominatim_down: bool = False


def nominatim_app(hosts: Hosts) -> web.Application:
    """Return Nominatim's ``/search`` over ``PLACES``, logging each query (503 while down)."""

    async def search(request: web.Request) -> web.Response:
        query = request.query.get("q", "")
        if request.query.get("format") != "json":
            return web.Response(status=400, text="format=json expected")
        hosts.queries.append(query)
        if hosts.nominatim_down:
            return web.Response(status=503, text="Service Unavailable")
        found = PLACES.get(query)
        places = []
        if found is not None:
            lat, lon, name = found
            places = [{"place_id": 1, "lat": lat, "lon": lon, "display_name": name}]
        return web.json_response(places)

    app = web.Application()
    app.router.add_get("/search", search)
    return app


def images_app() -> web.Application:
    """Return an image host serving ``PICTURES`` (HEAD is answered as GET without a body)."""

    async def picture(request: web.Request) -> web.Response:
        body = PICTURES.get(request.path)
        if body is None:
            return web.Response(status=404, text="not found")
        return web.Response(body=body, content_type="image/jpeg")

    app = web.Application()
    app.router.add_get("/{name}", picture)  # aiohttp answers HEAD through the GET route
    return app


@contextlib.asynccontextmanager
async def start_hosts() -> AsyncIterator[Hosts]:
    """Start both fakes on 127.0.0.1 with random ports; stop them on exit."""
    hosts = Hosts()
    runners = [
        web.AppRunner(nominatim_app(hosts), access_log=None),
        web.AppRunner(images_app(), access_log=None),
    ]
    urls = []
    try:
        for runner in runners:
            await runner.setup()
            site = web.TCPSite(runner, "127.0.0.1", 0)
            await site.start()
            urls.append(f"http://127.0.0.1:{runner.addresses[0][1]}")
        hosts.nominatim_url, hosts.images_url = urls
        yield hosts
    finally:
        for runner in runners:
            await runner.cleanup()
