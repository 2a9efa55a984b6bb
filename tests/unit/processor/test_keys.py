"""Matching keys: a row's comparable fields, photo URLs, and the ids stored in the index."""

from __future__ import annotations

import hashlib

import pytest

from services.processor.dedup.keys import (
    LOCK_NAMESPACE,
    LOCK_STRIPES,
    VehicleKey,
    from_row,
    image_key,
    key_id,
    lock_ids,
    vehicle_id,
)


def test_a_row_s_key_holds_every_compared_field_normalised() -> None:
    """Place, stock number and page come from their columns, trimmed, lower-cased, punctuation
    spaced (the page keeps its URL form, without a closing slash)."""
    row = {
        "data_hash": "ab" * 32,
        "make": " Chevrolet ",
        "model": "Chevelle SS",
        "year": 1970,
        "price": 52000,
        "location_city": " Tulsa ",
        "location_state": "OK",
        "description": "Numbers matching. Fresh paint",
        "image_url": "https://www.IMG.example.com/p/1.jpg?w=200#top",
        "source_name": "Site-A",
        "source_url": "https://Site-A.example.com/l/9/",
        "stock_number": " A-12 ",
    }
    assert from_row(row) == VehicleKey(
        data_hash="ab" * 32,
        make="chevrolet",
        model="chevelle ss",
        year=1970,
        price=52000.0,
        city="tulsa",
        state="ok",
        description="fresh matching numbers paint",
        image_url="img.example.com/p/1.jpg",
        source="site a",
        source_url="https://site-a.example.com/l/9",
        stock="a 12",
    )


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://www.img.example.com/p/1.jpg", "img.example.com/p/1.jpg"),
        ("http://img.example.com/p/1.jpg?x=1", "img.example.com/p/1.jpg"),
        ("HTTP://WWW.Img.Example.com/P/1.JPG#a", "img.example.com/p/1.jpg"),
        ("https://img.example.com", "img.example.com"),
        ("https://img.example.com/a b/1.jpg", "img.example.com/a b/1.jpg"),  # the slow path
        ("ftp://www.img.example.com/p/1.jpg", "img.example.com/p/1.jpg"),
        ("", ""),
        (None, ""),
    ],
)
def test_a_photo_url_compares_by_host_and_path(url: str | None, expected: str) -> None:
    """Scheme, ``www.``, query and fragment are dropped; the host keeps its dots."""
    assert image_key(url) == expected


def test_the_ids_stored_in_the_index_are_fixed() -> None:
    """A listing's id and a key's id are signed 64-bit big-endian: the stored index relies on it."""
    assert vehicle_id("8" + "0" * 63) == -(2**63)
    assert vehicle_id("00000000000000ff" + "f" * 48) == 255
    digest = hashlib.blake2b(b"make|place|word", digest_size=8).digest()
    assert key_id("make|place|word") == int.from_bytes(digest, "big", signed=True)
    assert key_id("ford") == int.from_bytes(
        hashlib.blake2b(b"ford", digest_size=8).digest(), "big", signed=True
    )


def test_lock_ids_are_striped_in_their_namespace() -> None:
    """Keys map to at most LOCK_STRIPES locks above LOCK_NAMESPACE, sorted, each once."""
    assert lock_ids([5, 5 + LOCK_STRIPES, -1, 3]) == sorted(
        {LOCK_NAMESPACE + 5, LOCK_NAMESPACE + 3, LOCK_NAMESPACE + LOCK_STRIPES - 1}
    )
