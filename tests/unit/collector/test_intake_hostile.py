"""An inbox is writable by others: a symbolic link or a hard link never brings a file into raw/.

The pump screens entries with ``lstat`` first; these tests call the intake directly, as if the
entry changed after that screening (the swap the screening cannot see).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from services.collector.intake import RefusedFile, handle_inbox_file
from shared.events import RecordType
from shared.storage import FileChangedError, move_no_clobber
from tests.unit.collector.fakes import make_deps

VEHICLES = RecordType.VEHICLES


@pytest.fixture
def secret(tmp_path: Path) -> Path:
    """A file outside the inbox the collector must never take in."""
    path = tmp_path / "outside" / "secret.json"
    path.parent.mkdir()
    path.write_bytes(b'[{"token": "not for raw"}]')
    return path


async def test_a_symlink_swapped_in_after_the_check_is_refused(
    tmp_path: Path, secret: Path
) -> None:
    """An inbox name that is a symbolic link by the time it is read is refused, raw/ untouched."""
    deps = make_deps(tmp_path)
    link = deps.data.inbox(VEHICLES) / "cars.json"
    link.symlink_to(secret)
    with pytest.raises(RefusedFile, match="symlink"):
        await handle_inbox_file(link, deps)
    assert [p for p in deps.data.root.joinpath("raw").rglob("*") if p.is_file()] == []
    assert link.is_symlink()


async def test_a_hard_link_to_another_file_is_refused(tmp_path: Path, secret: Path) -> None:
    """An inbox file with another hard link (someone else's file) is refused and left alone."""
    deps = make_deps(tmp_path)
    linked = deps.data.inbox(VEHICLES) / "cars.json"
    os.link(secret, linked)
    with pytest.raises(RefusedFile, match="hard_link"):
        await handle_inbox_file(linked, deps)
    assert [p for p in deps.data.root.joinpath("raw").rglob("*") if p.is_file()] == []
    assert linked.stat().st_nlink == 2


async def test_a_move_cut_short_by_a_crash_is_finished_as_a_duplicate(tmp_path: Path) -> None:
    """The inbox name still linked to its own raw file (crash mid-move) is removed, not refused."""
    deps = make_deps(tmp_path)
    first = deps.data.inbox(VEHICLES) / "a.json"
    first.write_bytes(b"[1]")
    kept = await handle_inbox_file(first, deps)
    assert kept is not None
    os.link(kept, first)  # the state a crash between link and unlink leaves
    assert await handle_inbox_file(first, deps) is None
    assert not first.exists()
    assert kept.read_bytes() == b"[1]"


def test_a_file_swapped_between_hash_and_move_is_not_moved(tmp_path: Path, secret: Path) -> None:
    """The name must still be the hashed file (device, inode) when it is linked into raw/."""
    inbox, raw = tmp_path / "inbox", tmp_path / "raw"
    inbox.mkdir()
    dropped = inbox / "cars.json"
    dropped.write_bytes(b"[1]")
    with dropped.open("rb") as handle:  # held open, as the intake does: the inode is not reused
        checked = os.fstat(handle.fileno())
        dropped.unlink()
        dropped.symlink_to(secret)  # the swap
        identity = (checked.st_dev, checked.st_ino)
        with pytest.raises(FileChangedError):
            move_no_clobber(dropped, raw, "drop_{:03d}.json".format, identity)
    assert list(raw.iterdir()) == []
    assert dropped.is_symlink()
