"""Hostile and broken input: each gets a clear reason, is kept, and harms nothing else."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import asyncpg
import nats
import pytest

from tests.conftest import NATS_URL
from tests.faults.data import vehicle
from tests.faults.stack import Stack
from tests.polling import eventually

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.nats,
    pytest.mark.postgres,
    pytest.mark.slow,
    pytest.mark.timeout(240),
]

BROKEN_FILES: dict[str, bytes] = {
    "truncated.json": b'[{"make": "Ford", "model": "Mustang", "ye',
    "empty.json": b"",
    "binary.json": bytes(range(256)) * 4,
    "latin1.json": '[{"make": "Citro\xebn", "model": "DS"}]'.encode("latin-1"),
    "deep.json": b"[" * 200_000 + b"]" * 200_000,
    "deep_values.json": b"[" + b"[0," * 2_000 + b"0" + b"]" * 2_000 + b"]",  # 8 KB
    "scalar.json": b"42",
}


def _vehicles(start: int, count: int) -> list[dict[str, Any]]:
    import random

    rng = random.Random(start)
    return [vehicle(rng, start + i) for i in range(count)]


async def _count(dsn: str, expected: int) -> bool:
    conn = await asyncpg.connect(dsn)
    try:
        if not await conn.fetchval("SELECT to_regclass('vehicles') IS NOT NULL"):
            return False
        return int(await conn.fetchval("SELECT count(*) FROM vehicles")) == expected
    finally:
        await conn.close()


def _file_errors(data: Path) -> dict[str, str]:
    """Return rejected files by the name they were dropped as -> reason (from their records)."""
    reasons = {}
    for path in data.glob("failed/*/file_errors/vehicles/*.json"):
        record = json.loads(path.read_text())
        reasons[record["original_name"]] = record["reason"]
    return reasons


async def test_hostile_files_are_rejected_with_reasons_and_the_rest_loads(tmp_path: Path) -> None:
    """Broken files get a reason each, odd entries are left alone, and good files still load."""
    stack = await Stack.create(tmp_path)
    inbox = stack.data / "inbox" / "vehicles"
    try:
        stack.start_all()
        dsn = stack.env["DATABASE_URL"]
        await eventually(lambda: _count(dsn, 0), timeout_s=60)
        for name, content in BROKEN_FILES.items():
            (tmp_path / name).write_bytes(content)
            (tmp_path / name).replace(inbox / name)
        # A byte-order mark, NaN/Infinity, SQL and HTML in text: the good records still load.
        good = _vehicles(1, 20)
        good[0]["description"] = "<script>alert(1)</script>'; DROP TABLE vehicles; --"
        text = json.dumps(good)[:-1] + ', {"make": "Ford", "price": NaN}, {"price": Infinity}]'
        (tmp_path / "bom.json").write_bytes(b"\xef\xbb\xbf" + text.encode())
        (tmp_path / "bom.json").replace(inbox / "bom.json")
        # The same name twice with different content: both are kept and loaded.
        for batch in (_vehicles(100, 5), _vehicles(200, 5)):
            (tmp_path / "same.json").write_text(json.dumps(batch))
            (tmp_path / "same.json").replace(inbox / "same.json")
            await eventually(lambda: _gone(inbox / "same.json"), timeout_s=60)
        # A symbolic link and a folder of an unknown record type are left alone, each logged as
        # ignored; a good file dropped after them shows the collector has looked since.
        (tmp_path / "target.json").write_text(json.dumps(_vehicles(300, 3)))
        os.symlink(tmp_path / "target.json", inbox / "link.json")
        (stack.data / "inbox" / "boats").mkdir()
        (stack.data / "inbox" / "boats" / "boat.json").write_text("[]")
        (tmp_path / "after.json").write_text(json.dumps(_vehicles(400, 2)))
        (tmp_path / "after.json").replace(inbox / "after.json")

        await eventually(lambda: _count(dsn, 32), timeout_s=120)
        await eventually(lambda: _ignored_symlink(stack, "link.json"), timeout_s=30)
        await eventually(lambda: _ignored_stray(stack, "boats"), timeout_s=30)
        reasons = await eventually(
            lambda: _async(_file_errors(stack.data), len(BROKEN_FILES)), timeout_s=60
        )
        assert set(reasons) >= set(BROKEN_FILES), reasons
        assert all(reason.strip() for reason in reasons.values())
        assert (inbox / "link.json").is_symlink()
        assert (stack.data / "inbox" / "boats" / "boat.json").exists()

        # A trigger naming a path outside raw/ is refused (dead-lettered with its reason).
        nc = await nats.connect(NATS_URL)
        subject = f"{stack.env['PIPELINE_NAMESPACE']}.commands.process_file"
        for path in ("../../etc/passwd", "/etc/passwd", "raw/../../outside.json"):
            await nc.publish(subject, json.dumps({"path": path}).encode())
        await nc.drain()
        await eventually(lambda: _dead_letters(dsn, 3), timeout_s=60)
        assert all(stack.alive().values()), stack.alive()
        conn = await asyncpg.connect(dsn)
        stored = await conn.fetchval(
            "SELECT description FROM vehicles WHERE description LIKE '<script>%'"
        )
        await conn.close()
        assert stored.startswith("<script>")
        assert await _count(dsn, 32), "the symlink's target or the boats/ file was loaded"
    finally:
        await stack.destroy()


async def _ignored_symlink(stack: Stack, name: str) -> bool:
    """Return True once the collector logged that it saw ``name`` and left it as a symlink."""
    return any(
        '"file.ignored"' in line and name in line and '"symlink"' in line
        for line in stack.log_text("collector").splitlines()
    )


async def _ignored_stray(stack: Stack, name: str) -> bool:
    """Return True once the collector logged ``inbox/<name>`` as outside the type folders."""
    return any(
        '"file.ignored"' in line and f"/inbox/{name}" in line and "record-type folders" in line
        for line in stack.log_text("collector").splitlines()
    )


async def _gone(path: Path) -> bool:
    return not path.exists()  # noqa: ASYNC240 - one stat in a test probe


async def _async(value: dict[str, str], at_least: int) -> dict[str, str] | None:
    return value if len(value) >= at_least else None


async def _dead_letters(dsn: str, at_least: int) -> bool:
    conn = await asyncpg.connect(dsn)
    try:
        count = await conn.fetchval(
            "SELECT count(*) FROM monitor_events WHERE subject = 'dlq.commands.process_file'"
        )
    finally:
        await conn.close()
    return int(count) >= at_least
