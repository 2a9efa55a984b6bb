"""Readiness of inbox files: what is ignored, and the size/mtime stability rule."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from services.collector.readiness import StabilityTracker, skip_reason, wait_until_stable


def test_unchanged_file_is_ready_only_after_the_required_time() -> None:
    """The same signature must be seen for the full period, counted from its first sighting."""
    tracker = StabilityTracker()
    assert tracker.observe((10, 1, 7), now=0.0, required_s=1.0) is False
    assert tracker.observe((10, 1, 7), now=0.6, required_s=1.0) is False
    assert tracker.observe((10, 1, 7), now=1.0, required_s=1.0) is True


def test_growing_file_restarts_the_stability_clock() -> None:
    """A change of size or mtime resets the period, so a slow copy is never ready half-way."""
    tracker = StabilityTracker()
    tracker.observe((10, 1, 7), now=0.0, required_s=1.0)
    assert tracker.observe((20, 2, 7), now=0.9, required_s=1.0) is False
    assert tracker.observe((20, 2, 7), now=1.5, required_s=1.0) is False
    assert tracker.observe((20, 2, 7), now=2.0, required_s=1.0) is True


def test_longer_requirement_for_a_file_open_for_writing() -> None:
    """A larger required time (file still open for writing) delays readiness."""
    tracker = StabilityTracker()
    tracker.observe((1, 1, 1), now=0.0, required_s=30.0)
    assert tracker.observe((1, 1, 1), now=5.0, required_s=30.0) is False
    assert tracker.observe((1, 1, 1), now=5.0, required_s=1.0) is True


@pytest.mark.parametrize(
    "name",
    [".hidden.json", ".tmp-abc", "~lock.json", "a.json.tmp", "a.part", "a.partial", "a.swp", "b~"],
)
def test_temporary_and_dot_files_are_skipped(tmp_path: Path, name: str) -> None:
    """Dot files and the usual temporary names are never collected."""
    path = tmp_path / name
    path.write_text("{}")
    assert skip_reason(path, os.lstat(path)) == "temporary"


def test_regular_json_file_is_a_candidate(tmp_path: Path) -> None:
    """A plain file is collected."""
    path = tmp_path / "cars.json"
    path.write_text("[]")
    assert skip_reason(path, os.lstat(path)) is None


def test_symlinks_and_directories_are_skipped(tmp_path: Path) -> None:
    """Symbolic links (even to a good file) and directories are left alone."""
    target = tmp_path / "real.json"
    target.write_text("[]")
    link = tmp_path / "link.json"
    link.symlink_to(target)
    folder = tmp_path / "sub"
    folder.mkdir()
    assert skip_reason(link, os.lstat(link)) == "symlink"
    assert skip_reason(folder, os.lstat(folder)) == "directory"


async def test_wait_until_stable_returns_the_final_stat(tmp_path: Path) -> None:
    """A file left untouched becomes ready and its stat is returned."""
    path = tmp_path / "cars.json"
    path.write_text("[1, 2]")
    st = await wait_until_stable(path, required_s=lambda: 0.05, poll_s=0.01, stopping=lambda: False)
    assert st is not None
    assert st.st_size == len("[1, 2]")


async def test_wait_until_stable_gives_up_on_stop(tmp_path: Path) -> None:
    """Stopping the service abandons the wait without a result."""
    path = tmp_path / "cars.json"
    path.write_text("[]")
    st = await wait_until_stable(path, required_s=lambda: 60.0, poll_s=0.01, stopping=lambda: True)
    assert st is None


async def test_wait_until_stable_raises_when_the_file_vanishes(tmp_path: Path) -> None:
    """A file that does not exist raises FileNotFoundError (the caller logs and moves on)."""
    with pytest.raises(FileNotFoundError):
        await wait_until_stable(
            tmp_path / "gone.json", required_s=lambda: 0.05, poll_s=0.01, stopping=lambda: False
        )
