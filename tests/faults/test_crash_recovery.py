"""SIGKILL services at random moments: final rows and failed records equal an undisturbed run.

Every record that entered is either a row or a failed record with its reason, never lost and
never twice: failed records are counted (a multiset), so one kept twice shows. Seeds are fixed
(and can be extended with CHAOS_SEEDS=1,2,3,...) so a failure can be replayed.
"""

from __future__ import annotations

import asyncio
import os
import random
from pathlib import Path
from typing import Any

import pytest

from services.runner import SERVICES
from tests.faults.data import vehicle_files
from tests.faults.outputs import incomplete_outputs
from tests.faults.stack import Stack
from tests.polling import eventually

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.nats,
    pytest.mark.postgres,
    pytest.mark.slow,
    pytest.mark.timeout(300),
]

FILES, PER_FILE = 6, 400
SEEDS = [int(s) for s in os.environ.get("CHAOS_SEEDS", "11,23").split(",") if s.strip()]


async def _run_to_completion(stack: Stack, files: list[list[Any]]) -> None:
    for number, records in enumerate(files):
        await stack.drop("vehicles", f"batch_{number:02d}.json", records)
    await eventually(lambda: _done(stack, len(files)), timeout_s=180, interval_s=0.5)


async def _done(stack: Stack, expected_batches: int) -> bool:
    return await stack.imported_batches() >= expected_batches


@pytest.fixture(scope="module")
async def baseline(tmp_path_factory: pytest.TempPathFactory) -> dict[int, Any]:
    """Run the input once, undisturbed, and keep its rows and failed records per seed."""
    results: dict[int, Any] = {}
    for seed in SEEDS:
        stack = await Stack.create(tmp_path_factory.mktemp(f"baseline{seed}"))
        try:
            stack.start_all()
            await _run_to_completion(stack, vehicle_files(seed, FILES, PER_FILE))
            results[seed] = (await stack.rows(), stack.failed_record_counts())
        finally:
            await stack.destroy()
    return results


async def _chaos(stack: Stack, rng: random.Random, stop: asyncio.Event, kills: list[str]) -> None:
    """Kill a random service at random moments and start it again, until told to stop.

    Only kills that land while work is in flight (not every batch imported yet) count; once the
    work is done the loop stops, so a kill after the work cannot pass for a survived one.
    """
    while not stop.is_set():
        await asyncio.sleep(rng.uniform(0.3, 1.5))  # fault injection timing, not synchronisation
        if stop.is_set() or await stack.imported_batches() >= FILES:
            return
        name = rng.choice(SERVICES)
        stack.kill(name)
        kills.append(name)
        stack.start(name)


@pytest.mark.parametrize("seed", SEEDS)
async def test_sigkill_at_random_moments_loses_and_doubles_nothing(
    seed: int, baseline: dict[int, Any], tmp_path: Path
) -> None:
    """Random SIGKILLs of every service during a run leave the same rows and failed records."""
    expected_rows, expected_failed = baseline[seed]
    stack = await Stack.create(tmp_path)
    rng = random.Random(seed)
    stop = asyncio.Event()
    kills: list[str] = []
    try:
        stack.start_all()
        chaos = asyncio.create_task(_chaos(stack, rng, stop, kills))
        files = vehicle_files(seed, FILES, PER_FILE)
        for number, records in enumerate(files):
            await stack.drop("vehicles", f"batch_{number:02d}.json", records)
            await asyncio.sleep(rng.uniform(0.0, 0.8))  # spread the drops over the kills
        await asyncio.sleep(3)  # keep killing while the work is in flight
        stop.set()
        await chaos
        await eventually(lambda: _done(stack, len(files)), timeout_s=180, interval_s=0.5)
        rows = await stack.rows()
        failed = stack.failed_record_counts()
        incomplete = incomplete_outputs(stack.data, stack.dropped, settled=True)
    finally:
        await stack.destroy()
    assert kills, "no kill landed while work was in flight"
    assert incomplete == []
    assert {t: len(r) for t, r in rows.items()} == {t: len(r) for t, r in expected_rows.items()}
    assert rows == expected_rows, f"seed {seed}, kills {kills}"
    assert failed == expected_failed, f"seed {seed}, kills {kills}"
