"""The car's JSON and its page: ``/api/cars/ID``, ``/api/cars?url=URL`` and ``/cars/ID``.

ID is the id of any of the car's listings (the search results' ``id``); the answer is the car
of ``services.importer.cars``: its listings per site, its signals and its timeline. Prices are
decimal strings, moments ISO 8601 (UTC).
"""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from services.importer import cars
from services.monitor.deps import DEPS

CAR_PAGE = Path(__file__).parent / "static" / "car.html"
MAX_REF_CHARS = 65_536  # the longest listing URL the table holds


async def car_json(request: web.Request) -> web.Response:
    """Return the car of listing ``ID`` (path) or of ``?url=``; 404 when there is none."""
    ref = request.match_info.get("ref") or request.query.get("url", "")
    if not ref or len(ref) > MAX_REF_CHARS:
        raise web.HTTPBadRequest(text="give a listing id (/api/cars/ID) or ?url=URL")
    if "ref" in request.match_info and not ref.isdigit():
        raise web.HTTPBadRequest(text=f"not a listing id: {ref!r}")
    async with request.app[DEPS].pool.acquire() as conn:
        car_hash = await cars.find(conn, ref)
        car = await cars.load(conn, car_hash) if car_hash else None
    if car is None:
        raise web.HTTPNotFound(text=f"no listing has the id or URL {ref}")
    return web.Response(text=cars.to_json(car), content_type="application/json")


async def car_page(_request: web.Request) -> web.FileResponse:
    """Return the car page; its script reads the id from the path and asks ``/api/cars/ID``."""
    return web.FileResponse(CAR_PAGE)


def add_routes(app: web.Application) -> None:
    """Register the car's JSON endpoints and its page."""
    app.router.add_get("/api/cars", car_json)
    app.router.add_get("/api/cars/{ref}", car_json)
    app.router.add_get(r"/cars/{ref:\d+}", car_page)
