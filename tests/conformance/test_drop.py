"""The seed's vehicle contract through the real drop path: one file copied into the inbox.

The four services run as processes (real NATS, PostgreSQL, files). Every case of the table is a
record of one dropped file; accepted cases must be rows with the table's values, refused ones
failed records with the table's reason, and nothing else.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from services.processor.stages import check
from tests.faults.stack import Stack
from tests.polling import eventually

from .cases import CASES, COLUMNS, FILE_SOURCE
from .test_model import same_value

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.nats,
    pytest.mark.postgres,
    pytest.mark.slow,
    pytest.mark.timeout(240),
]


def _failures(data: Path) -> dict[int, list[str]]:
    """Return the reason keys of each failed record of the dropped file, by position."""
    found: dict[int, list[str]] = {}
    for path in (data / "failed").rglob("*.jsonl"):
        for line in path.read_text().splitlines():
            if line.strip():
                entry = json.loads(line)
                found[entry["position"]] = sorted(
                    {check.reason_key(error) for error in entry["errors"]}
                )
    return found


async def _rows(dsn: str) -> list[dict[str, Any]]:
    conn = await asyncpg.connect(dsn)
    try:
        if not await conn.fetchval("SELECT to_regclass('vehicles') IS NOT NULL"):
            return []
        columns = ", ".join(COLUMNS.values())
        return [dict(row) for row in await conn.fetch(f"SELECT {columns} FROM vehicles")]
    finally:
        await conn.close()


async def test_every_case_dropped_in_one_file_is_stored_or_refused_as_the_table_says(
    tmp_path: Path,
) -> None:
    """A file written to the seed's schema, cases and all: each row or refusal is the table's."""
    records = [case.record(index) for index, case in enumerate(CASES)]
    accepted = [(i, c) for i, c in enumerate(CASES) if c.reason is None]
    refused = {i: c for i, c in enumerate(CASES) if c.reason is not None}
    stack = await Stack.create(tmp_path)
    try:
        stack.start_all()
        await stack.drop("vehicles", "seed_conformance.json", records)
        dsn = stack.env["DATABASE_URL"]

        async def done() -> list[dict[str, Any]] | None:
            rows = await _rows(dsn)
            complete = len(rows) >= len(accepted) and len(_failures(stack.data)) >= len(refused)
            return rows if complete else None

        rows = await eventually(done, timeout_s=120, interval_s=0.5)
    finally:
        await stack.destroy()

    assert len(rows) == len(accepted)
    by_stock = {row["stock_number"]: row for row in rows}
    assert len(by_stock) == len(rows)
    for index, case in accepted:
        expected = case.expected_columns(index)
        row = by_stock[expected["stock_number"]]
        for column, value in expected.items():
            if value == FILE_SOURCE:
                assert row[column], (case.name, column)
            else:
                assert same_value(row[column], value), (case.name, column, row[column], value)
    failures = _failures(stack.data)
    assert set(failures) == set(refused)
    assert {i: failures[i] for i in refused} == {i: [c.reason] for i, c in refused.items()}
