"""SIGKILL at named moments (shared.faults crash points): the outcome equals an undisturbed run.

Random kills (test_crash_recovery) rarely land in the narrow windows that matter: a file half
moved, a batch half written, rows COPYed but not committed, work committed but not acked. Here
one service runs with ``PIPELINE_CRASH_AT`` naming such a moment, kills itself there with
SIGKILL, is started again without it, and the final rows and failed records must equal those of
one undisturbed run of the same input: nothing lost, nothing twice.
"""

from __future__ import annotations

import signal
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from shared.faults import ENV_VAR, POINTS
from shared.storage import TEMP_PREFIX
from tests.faults.data import vehicle_files
from tests.faults.stack import Stack
from tests.polling import eventually

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.nats,
    pytest.mark.postgres,
    pytest.mark.slow,
    pytest.mark.timeout(180),
]

SEED, FILES, PER_FILE = 41, 6, 500  # 3,000 records plus 50 repeated across files
FAST_ENV = {
    # Small chunks, so a file is several transactions and a kill can fall between two.
    "IMPORTER_CHUNK_SIZE": "200",
    # A killed consumer's message comes back after the ack wait: keep it short (the bus sends
    # in_progress every third of it while a handler works, so live work is not redelivered).
    "PROCESSOR_ACK_WAIT_S": "3",
    "IMPORTER_ACK_WAIT_S": "3",
}

# (service, PIPELINE_CRASH_AT): every point of shared.faults, at a hit inside the run.
CASES = [
    ("collector", "storage.move_linked@3"),
    ("collector", "collector.before_meta@3"),
    ("collector", "collector.before_publish@3"),
    ("collector", "collector.after_publish@3"),
    ("processor", "processor.batch_writing@700"),
    ("processor", "processor.before_publish@2"),
    ("processor", "processor.before_ack@2"),
    ("importer", "importer.mid_copy@3"),
    ("importer", "importer.chunk_committed@3"),
    ("importer", "importer.before_ack@2"),
]


def _linked_twice(data: Path) -> bool:
    """Return True if an inbox file is also linked under raw/ (a move half done)."""
    return any(p.stat().st_nlink == 2 for p in (data / "inbox" / "vehicles").iterdir())


def _temporary_processed_file(data: Path) -> bool:
    """Return True if a processed file is still under its temporary name (a write half done)."""
    return any(p.name.startswith(TEMP_PREFIX) for p in (data / "processed").rglob("*"))


WINDOW_STATE: dict[str, Callable[[Path], bool]] = {
    "storage.move_linked": _linked_twice,
    "processor.batch_writing": _temporary_processed_file,
}
"""What the data folder shows right after the kill at a point, where it is visible."""

Outcome = tuple[dict[str, set[Any]], dict[str, int], Counter[str]]


async def _all_imported(stack: Stack) -> bool:
    return await stack.imported_batches() >= FILES


async def _drop_all(stack: Stack) -> None:
    for number, records in enumerate(vehicle_files(SEED, FILES, PER_FILE)):
        await stack.drop("vehicles", f"batch_{number:02d}.json", records)


async def _outcome(stack: Stack) -> Outcome:
    return await stack.rows(), await stack.row_counts(), stack.failed_record_counts()


@pytest.fixture(scope="module")
async def baseline(tmp_path_factory: pytest.TempPathFactory) -> Outcome:
    """Run the input once, undisturbed, and keep its rows and failed records."""
    stack = await Stack.create(tmp_path_factory.mktemp("crash_baseline"), **FAST_ENV)
    try:
        stack.start_all()
        await _drop_all(stack)
        await eventually(lambda: _all_imported(stack), timeout_s=120, interval_s=0.5)
        return await _outcome(stack)
    finally:
        await stack.destroy()


def test_every_point_is_exercised() -> None:
    """The cases below cover every crash point the code has."""
    assert {spec.partition("@")[0] for _, spec in CASES} == set(POINTS)


async def _died(stack: Stack, name: str) -> bool:
    return stack.procs[name].poll() is not None


@pytest.mark.parametrize(("service", "spec"), CASES, ids=[spec for _, spec in CASES])
async def test_sigkill_at_a_crash_point_loses_and_doubles_nothing(
    service: str, spec: str, baseline: Outcome, tmp_path: Path
) -> None:
    """A service killed at the named moment and restarted leaves the undisturbed outcome."""
    expected_rows, expected_counts, expected_failed = baseline
    point = spec.partition("@")[0]
    stack = await Stack.create(tmp_path, **FAST_ENV)
    try:
        stack.start_all({service: {ENV_VAR: spec}})
        await _drop_all(stack)
        await eventually(lambda: _died(stack, service), timeout_s=90, interval_s=0.2)
        code = stack.procs[service].returncode
        assert code == -signal.SIGKILL, f"{service} exited with {code}, not by SIGKILL"
        assert f"crash_point: {point} " in stack.log_text(service)
        assert await stack.imported_batches() < FILES, "the kill came after all the work"
        left = WINDOW_STATE.get(point)
        assert left is None or left(stack.data), f"{point}: not the state the point names"
        stack.start(service)  # without the variable, as after a real crash
        await eventually(lambda: _all_imported(stack), timeout_s=120, interval_s=0.5)
        outcome = await _outcome(stack)
        alive = stack.alive()
    finally:
        await stack.destroy()
    rows, counts, failed = outcome
    assert all(alive.values()), alive
    assert counts == expected_counts, spec
    assert rows == expected_rows, spec
    assert failed == expected_failed, spec
