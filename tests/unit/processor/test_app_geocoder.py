"""Which geocoder the processor's settings build, and where an online one sends its queries."""

from __future__ import annotations

from typing import Any

import pytest

from services.processor.app import online_geocoder
from services.processor.config import ProcessorSettings


def test_the_offline_gazetteer_is_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    """No online geocoder unless one is asked for."""
    monkeypatch.setenv("DATABASE_URL", "postgresql://localhost/x")
    assert online_geocoder(ProcessorSettings()) is None


@pytest.mark.parametrize(
    ("url", "api"),
    [
        (None, "https://nominatim.openstreetmap.org/search"),
        ("http://127.0.0.1:8088/", "http://127.0.0.1:8088/search"),
        ("https://geo.example.com/nominatim/", "https://geo.example.com/nominatim/search"),
    ],
)
def test_the_nominatim_url_says_where_queries_go(
    url: str | None, api: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The public server by default; a port and a path prefix of your own server are kept."""
    monkeypatch.setenv("DATABASE_URL", "postgresql://localhost/x")
    monkeypatch.setenv("PROCESSOR_GEOCODER", "nominatim")
    if url is not None:
        monkeypatch.setenv("PROCESSOR_NOMINATIM_URL", url)
    geocoder = online_geocoder(ProcessorSettings())
    assert geocoder is not None
    assert geocoder.name == "nominatim"
    nominatim: Any = geocoder.geocoder  # geopy's Nominatim
    assert nominatim.api == api
