"""The opt-in online enrichment through the running processor: Nominatim and image HEAD checks.

Both hosts are on the internet in production; here local fakes speak their protocols
(``tests/fakes/enrichment.py``), and the processor is pointed at them by its settings.
"""

from __future__ import annotations

import asyncpg
import pytest

from shared.bus import Bus
from shared.events import BatchProcessed
from shared.settings import PipelineSettings
from shared.storage import DataDir
from tests.fakes.enrichment import PICTURES, PLACES, start_hosts
from tests.integration.conftest import reset_processor_tables
from tests.integration.test_processor_dedup import CAR, _process, _processors, _stop

pytestmark = [pytest.mark.nats, pytest.mark.postgres]


@pytest.fixture
async def clean_geocache(settings: PipelineSettings) -> None:
    """Apply the processor's migrations and empty its geocoder cache (the database is shared)."""
    await reset_processor_tables(settings, "processor_geocache")


async def test_nominatim_answers_are_used_and_cached(
    bus: Bus,
    data_dir: DataDir,
    outcomes: list[BatchProcessed],
    settings: PipelineSettings,
    monkeypatch: pytest.MonkeyPatch,
    clean_geocache: None,
) -> None:
    """Found places get Nominatim's coordinates, an unknown one found: false; each asked once."""
    tulsa = {**CAR, "stockNumber": "G-1"}
    austin = {**CAR, "stockNumber": "G-2", "locationCity": "Austin", "locationState": "TX"}
    nowhere = {**CAR, "stockNumber": "G-3", "locationCity": "Nowhere Town", "locationState": "ZZ"}
    async with start_hosts() as hosts:
        monkeypatch.setenv("PROCESSOR_GEOCODER", "nominatim")
        monkeypatch.setenv("PROCESSOR_NOMINATIM_URL", hosts.nominatim_url)
        tasks, stop = await _processors(1)
        try:
            first = await _process(bus, data_dir, {"drop_001.json": [tulsa, austin]}, outcomes)
            second = await _process(
                bus,
                data_dir,
                {"drop_002.json": [{**tulsa, "stockNumber": "G-4"}, nowhere]},
                outcomes,
            )
        finally:
            await _stop(tasks, stop)
    geo = {row["stock_number"]: row["enrichment"]["geo"] for row in [*first, *second]}
    lat, lon, _ = PLACES["Tulsa, OK, USA"]
    assert geo["G-1"] == {
        "found": True, "lat": round(float(lat), 5), "lon": round(float(lon), 5),
        "query": "Tulsa, OK, USA", "geocoder": "nominatim",
    }  # fmt: skip
    assert geo["G-2"]["lat"] == round(float(PLACES["Austin, TX, USA"][0]), 5)
    assert geo["G-4"]["cached"] is True  # the second file's Tulsa came from the cache table
    assert (geo["G-4"]["lat"], geo["G-4"]["lon"]) == (geo["G-1"]["lat"], geo["G-1"]["lon"])
    assert geo["G-3"] == {"found": False, "query": "Nowhere Town, ZZ, USA", "geocoder": "nominatim"}
    assert sorted(hosts.queries) == ["Austin, TX, USA", "Nowhere Town, ZZ, USA", "Tulsa, OK, USA"]
    conn = await asyncpg.connect(settings.database_url.get_secret_value())
    try:
        cached = await conn.fetch(
            "SELECT query, latitude FROM processor_geocache WHERE geocoder = 'nominatim'"
        )
    finally:
        await conn.close()
    assert {row["query"]: row["latitude"] is not None for row in cached} == {
        "Austin, TX, USA": True, "Nowhere Town, ZZ, USA": False, "Tulsa, OK, USA": True,
    }  # fmt: skip


async def test_a_geocoder_outage_is_not_cached_and_is_asked_again(
    bus: Bus,
    data_dir: DataDir,
    outcomes: list[BatchProcessed],
    settings: PipelineSettings,
    monkeypatch: pytest.MonkeyPatch,
    clean_geocache: None,
) -> None:
    """While Nominatim fails, records are written with ``failed: true``, nothing is cached and
    the file's event counts the failures; the next file naming the place asks again."""
    tulsa = {**CAR, "stockNumber": "O-1"}
    async with start_hosts() as hosts:
        monkeypatch.setenv("PROCESSOR_GEOCODER", "nominatim")
        monkeypatch.setenv("PROCESSOR_NOMINATIM_URL", hosts.nominatim_url)
        tasks, stop = await _processors(1)
        try:
            hosts.nominatim_down = True
            during = await _process(bus, data_dir, {"drop_001.json": [tulsa]}, outcomes)
            failures = [event.geocode_failures for event in outcomes]
            cached_during = await _geocache(settings)
            hosts.nominatim_down = False
            after = await _process(
                bus, data_dir, {"drop_002.json": [{**tulsa, "stockNumber": "O-2"}]}, outcomes
            )
        finally:
            await _stop(tasks, stop)
    assert during[0]["enrichment"]["geo"] == {
        "found": False, "failed": True, "query": "Tulsa, OK, USA", "geocoder": "nominatim",
    }  # fmt: skip
    assert failures == [1]
    assert cached_during == {}
    assert after[0]["enrichment"]["geo"]["found"] is True
    assert "cached" not in after[0]["enrichment"]["geo"]  # asked again, not read from the cache
    assert hosts.queries.count("Tulsa, OK, USA") >= 2
    assert await _geocache(settings) == {"Tulsa, OK, USA": True}


async def _geocache(settings: PipelineSettings) -> dict[str, bool]:
    """Return the cached queries of Nominatim, each with whether it has coordinates."""
    conn = await asyncpg.connect(settings.database_url.get_secret_value())
    try:
        rows = await conn.fetch(
            "SELECT query, latitude FROM processor_geocache WHERE geocoder = 'nominatim'"
        )
    finally:
        await conn.close()
    return {row["query"]: row["latitude"] is not None for row in rows}


async def test_image_head_checks_flag_a_broken_image(
    bus: Bus,
    data_dir: DataDir,
    outcomes: list[BatchProcessed],
    monkeypatch: pytest.MonkeyPatch,
    clean_geocache: None,
) -> None:
    """A picture the host has gets its type and size; a missing one is flagged, not failed."""
    async with start_hosts() as hosts:
        monkeypatch.setenv("PROCESSOR_CHECK_IMAGES", "true")
        good = {**CAR, "stockNumber": "I-1", "imageUrl": f"{hosts.images_url}/ok.jpg"}
        gone = {**CAR, "stockNumber": "I-2", "imageUrl": f"{hosts.images_url}/gone.jpg"}
        tasks, stop = await _processors(1)
        try:
            rows = await _process(bus, data_dir, {"drop_001.json": [good, gone]}, outcomes)
        finally:
            await _stop(tasks, stop)
    image = {row["stock_number"]: row["enrichment"]["image"] for row in rows}
    assert image["I-1"]["checked"] is True
    assert (image["I-1"]["status"], image["I-1"]["content_type"]) == (200, "image/jpeg")
    assert image["I-1"]["size"] == len(PICTURES["/ok.jpg"])
    assert "broken_image" not in image["I-1"]["flags"]
    assert (image["I-2"]["checked"], image["I-2"]["status"]) == (True, 404)
    assert "broken_image" in image["I-2"]["flags"]
    assert len(rows) == 2  # both records are rows: a broken image is a flag, never a failure


async def test_a_blocked_image_flags_its_listing_and_the_file_loads(
    bus: Bus,
    data_dir: DataDir,
    outcomes: list[BatchProcessed],
    monkeypatch: pytest.MonkeyPatch,
    clean_geocache: None,
) -> None:
    """An image at an internal address is a ``blocked_url`` flag; its neighbours are untouched."""
    async with start_hosts() as hosts:
        monkeypatch.setenv("PROCESSOR_CHECK_IMAGES", "true")
        records = [
            {**CAR, "stockNumber": "B-1", "imageUrl": f"{hosts.images_url}/ok.jpg"},
            {**CAR, "stockNumber": "B-2", "imageUrl": "http://169.254.169.254/latest/x.jpg"},
            {**CAR, "stockNumber": "B-3", "imageUrl": "http://10.0.0.1/x.jpg"},
            {**CAR, "stockNumber": "B-4", "imageUrl": f"{hosts.images_url}/ok.jpg?v=2"},
        ]
        tasks, stop = await _processors(1)
        try:
            rows = await _process(bus, data_dir, {"drop_001.json": records}, outcomes)
        finally:
            await _stop(tasks, stop)
    image = {row["stock_number"]: row["enrichment"]["image"] for row in rows}
    assert sorted(image) == ["B-1", "B-2", "B-3", "B-4"]
    for good in ("B-1", "B-4"):
        assert (image[good]["status"], "blocked_url" in image[good]["flags"]) == (200, False)
    for blocked in ("B-2", "B-3"):
        assert "blocked_url" in image[blocked]["flags"], image[blocked]
