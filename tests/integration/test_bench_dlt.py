"""The dlt baseline of bench/e2e merges the benchmark's files on the natural key, once per key."""

from __future__ import annotations

import hashlib
from pathlib import Path

import orjson
import pytest

from bench.e2e.dlt_merge import dlt_merge
from bench.e2e.listings import write_dataset

pytestmark = pytest.mark.postgres


async def test_dlt_holds_one_row_per_natural_key_and_is_charged(tmp_path: Path) -> None:
    """Every object record is merged, duplicates once; its process used CPU, and took time."""
    dataset = write_dataset(tmp_path / "outbox", 800, 2, duplicate_rate=0.1)
    keys = set()
    for path in dataset.files:
        for record in orjson.loads(path.read_bytes()):
            if isinstance(record, dict):
                parts = [record.get(k) or "" for k in ("make", "model", "year")]
                parts += [record.get("stockNumber") or "", record.get("sourceName") or ""]
                keys.add(hashlib.sha256("|".join(map(str, parts)).lower().encode()).hexdigest())
    result = await dlt_merge(dataset.files)
    assert result.rows == len(keys) < dataset.records
    assert result.seconds > 0
    assert result.client_cpu_s > 0
