"""Fixtures of the processor's unit tests: raw files placed in a temporary data folder."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest

from shared.storage import DataDir

DAY = "2026-11-29"
RawFactory = Callable[..., Path]


def vehicle(**overrides: Any) -> dict[str, Any]:
    """Return a valid raw vehicle record (camelCase, as the seed's files hold it)."""
    record: dict[str, Any] = {
        "sourceName": "drop",
        "make": "Ford",
        "model": "Mustang",
        "year": 1967,
        "price": 45000.5,
        "stockNumber": "S-1",
    }
    record.update(overrides)
    return record


@pytest.fixture
def raw_file(data_dir: DataDir) -> RawFactory:
    """Return a function that writes bytes or JSON to ``raw/DAY/{type}/{name}``."""

    def write(content: Any, name: str = "drop_001.json", record_type: str = "vehicles") -> Path:
        path = data_dir.root / "raw" / DAY / record_type / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content if isinstance(content, bytes) else orjson.dumps(content))
        return path

    return write
