"""Crash points: a no-op unless PIPELINE_CRASH_AT names them, then a SIGKILL at the chosen hit."""

from __future__ import annotations

import ast
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from shared import faults

ROOT = Path(__file__).resolve().parents[3]

# Hits "x" five times, printing the number of each hit that survived.
SCRIPT = """
from shared.faults import crash_point
for i in range(1, 6):
    crash_point("x")
    print(i, flush=True)
"""


def _run(spec: str | None, script: str = SCRIPT) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != faults.ENV_VAR}
    if spec is not None:
        env[faults.ENV_VAR] = spec
    return subprocess.run(
        [sys.executable, "-c", script],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


@pytest.fixture(autouse=True)
def _reset() -> Iterator[None]:
    yield
    faults.configure(None)


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("", {}),
        ("importer.mid_copy", {"importer.mid_copy": 1}),
        ("processor.batch_writing@300", {"processor.batch_writing": 300}),
        (" a@2 , b ,", {"a": 2, "b": 1}),
    ],
)
def test_parse_reads_names_and_hit_numbers(spec: str, expected: dict[str, int]) -> None:
    """A spec is comma-separated names, each with an optional @N hit number (default 1)."""
    assert faults.parse(spec) == expected


@pytest.mark.parametrize("spec", ["a@0", "a@", "a@two", "a@-1"])
def test_parse_refuses_a_bad_hit_number(spec: str) -> None:
    """A hit number that is not a positive integer is an error naming the variable."""
    with pytest.raises(ValueError, match=faults.ENV_VAR):
        faults.parse(spec)


def test_unset_is_a_no_op() -> None:
    """Without the variable the process runs through every hit."""
    result = _run(None)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["1", "2", "3", "4", "5"]


def test_other_point_named_is_a_no_op() -> None:
    """A variable naming another point leaves this one alone."""
    result = _run("y")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["1", "2", "3", "4", "5"]


def test_named_point_kills_with_sigkill_at_the_first_hit() -> None:
    """The process dies by SIGKILL at the first hit and says where on stderr."""
    result = _run("x")
    assert result.returncode == -signal.SIGKILL
    assert result.stdout.split() == []
    assert "crash_point: x (hit 1)" in result.stderr


def test_hit_number_picks_the_nth_hit() -> None:
    """With x@3 the first two hits pass and the third kills."""
    result = _run("x@3")
    assert result.returncode == -signal.SIGKILL
    assert result.stdout.split() == ["1", "2"]
    assert "crash_point: x (hit 3)" in result.stderr


def test_sigkill_skips_cleanup() -> None:
    """A crash runs no finally block and no atexit handler, like a kill from outside."""
    script = """
import atexit
from shared.faults import crash_point
atexit.register(lambda: print("atexit", flush=True))
try:
    crash_point("x")
finally:
    print("finally", flush=True)
"""
    result = _run("x", script)
    assert result.returncode == -signal.SIGKILL
    assert result.stdout == ""


def test_the_variable_is_read_once() -> None:
    """Setting the variable after the first call changes nothing (it is read once)."""
    script = """
import os
from shared.faults import crash_point
crash_point("x")
os.environ["PIPELINE_CRASH_AT"] = "x"
crash_point("x")
print("alive", flush=True)
"""
    result = _run(None, script)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["alive"]


def test_configure_resets_the_hit_count(monkeypatch: pytest.MonkeyPatch) -> None:
    """configure() sets a plan in-process and starts counting hits again."""
    deaths: list[str] = []
    monkeypatch.setattr(faults, "_die", deaths.append)
    faults.configure("x@2")
    faults.crash_point("x")
    assert deaths == []
    faults.crash_point("x")
    assert len(deaths) == 1
    assert deaths[0].startswith("crash_point: x (hit 2)")
    faults.configure("x@2")
    faults.crash_point("x")
    assert len(deaths) == 1


class _CountingLock:
    """A lock that counts how often it is taken."""

    def __init__(self) -> None:
        self.taken = 0
        self._lock = threading.Lock()

    def __enter__(self) -> None:
        self.taken += 1
        self._lock.acquire()

    def __exit__(self, *exc: object) -> None:
        self._lock.release()


def test_an_unset_point_is_cheap(monkeypatch: pytest.MonkeyPatch) -> None:
    """With no plan a call takes no lock, reads no variable and counts nothing.

    It sits in per-line loops, so it must be a dict lookup and no more; a clock bound on it
    would only measure the machine's load.
    """
    faults.configure("")
    lock = _CountingLock()
    monkeypatch.setattr(faults, "_lock", lock)
    monkeypatch.setenv(faults.ENV_VAR, "processor.batch_writing@1")  # must not be read again
    for _ in range(1000):
        faults.crash_point("processor.batch_writing")
    assert lock.taken == 0
    assert faults._hits == {}


def _points_in_code() -> set[str]:
    names: set[str] = set()
    for folder in ("services", "shared"):
        for path in (ROOT / folder).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                if (
                    isinstance(node, ast.Call)
                    and getattr(node.func, "id", getattr(node.func, "attr", None)) == "crash_point"
                    and node.args
                    and isinstance(node.args[0], ast.Constant)
                ):
                    names.add(str(node.args[0].value))
    return names


def test_points_listed_are_the_points_in_the_code() -> None:
    """Every crash_point call names a documented point, and every documented point exists."""
    assert _points_in_code() == set(faults.POINTS)
