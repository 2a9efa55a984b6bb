"""Clean-up: verified day archives, failed-record retention, restoring and date commands."""

from __future__ import annotations

import io
import tarfile
from datetime import date, timedelta
from pathlib import Path

import pytest

from services.collector import archive, redrive
from services.collector.archive import ArchiveMismatch
from shared.events import ImportFile, ProcessFile, RecordType
from shared.storage import FILE_MODE, DataDir
from tests.unit.collector.fakes import FakePublisher

TODAY = date(2026, 7, 1)
OLD = TODAY - timedelta(days=40)
VEHICLES = RecordType.VEHICLES


def _day(data: DataDir, day: date, name: str = "brave_001") -> None:
    raw = data.raw(day, VEHICLES)
    raw.mkdir(parents=True, exist_ok=True)
    (raw / f"{name}.json").write_text(f'[{{"n": "{name}"}}]')
    (raw / "meta.json").write_text('{"files": []}')
    processed = data.processed(day, VEHICLES)
    processed.mkdir(parents=True, exist_ok=True)
    (processed / f"{name}.jsonl").write_text('{"n": 1}\n')


def _members(path: Path) -> list[str]:
    with tarfile.open(path, "r:gz") as tar:
        return sorted(m.name for m in tar.getmembers())


def test_old_days_are_archived_verified_and_deleted(data_dir: DataDir) -> None:
    """A 40-day-old day goes into archive/DAY.tar.gz (raw + processed); a recent day stays."""
    _day(data_dir, OLD)
    _day(data_dir, TODAY - timedelta(days=2))
    report = archive.cleanup(data_dir, TODAY, retention_days=30, failed_retention_days=90)
    assert report.archived == [OLD.isoformat()]
    target = archive.archive_path(data_dir, OLD)
    assert _members(target) == [
        f"processed/{OLD}/vehicles/brave_001.jsonl",
        f"raw/{OLD}/vehicles/brave_001.json",
        f"raw/{OLD}/vehicles/meta.json",
    ]
    assert not (data_dir.root / "raw" / OLD.isoformat()).exists()
    assert not (data_dir.root / "processed" / OLD.isoformat()).exists()
    assert data_dir.raw(TODAY - timedelta(days=2), VEHICLES).is_dir()


def test_nothing_is_deleted_when_verification_fails(
    data_dir: DataDir, monkeypatch: pytest.MonkeyPatch
) -> None:
    """If the archive does not match the files on disk, the day folders are kept."""
    _day(data_dir, OLD)

    def bad_write(target: Path, files: dict[str, Path]) -> None:
        with tarfile.open(target, "w:gz"):
            pass  # an empty archive: every member is missing

    monkeypatch.setattr(archive, "_write", bad_write)
    report = archive.cleanup(data_dir, TODAY, 30, 90)
    assert report.archived == []
    assert "missing" in report.errors[0]
    assert data_dir.raw(OLD, VEHICLES).is_dir()


def test_verify_detects_changed_content(data_dir: DataDir, tmp_path: Path) -> None:
    """Same name, different bytes: a mismatch."""
    _day(data_dir, OLD)
    files = archive._files(data_dir, OLD, archive.DAY_STAGES)
    target = tmp_path / "a.tar.gz"
    archive._write(target, files)
    next(iter(files.values())).write_text("changed")
    with pytest.raises(ArchiveMismatch, match="differs"):
        archive.verify(target, files)


def test_failed_records_keep_their_own_retention(data_dir: DataDir) -> None:
    """Failed records 40 days old stay; 100 days old are archived to failed-DAY.tar.gz."""
    for age in (40, 100):
        folder = data_dir.failed(TODAY - timedelta(days=age), "validation_errors") / "vehicles"
        folder.mkdir(parents=True)
        (folder / "brave_001.jsonl").write_text("{}\n")
    report = archive.cleanup(data_dir, TODAY, 30, 90)
    expired = TODAY - timedelta(days=100)
    assert report.expired_failed == [expired.isoformat()]
    assert archive.archive_path(data_dir, expired, "failed-").is_file()
    assert (data_dir.root / "failed" / (TODAY - timedelta(days=40)).isoformat()).is_dir()
    assert not (data_dir.root / "failed" / expired.isoformat()).exists()


def test_restore_then_rearchive_keeps_everything(data_dir: DataDir) -> None:
    """A restored day with a new file is archived again with old and new members."""
    _day(data_dir, OLD)
    archive.cleanup(data_dir, TODAY, 30, 90)
    assert archive.restore_day(data_dir, OLD)
    assert (data_dir.raw(OLD, VEHICLES) / "brave_001.json").read_text() == '[{"n": "brave_001"}]'
    (data_dir.raw(OLD, VEHICLES) / "brave_001.json").unlink()
    _day(data_dir, OLD, "tavily_001")
    archive.cleanup(data_dir, TODAY, 30, 90)
    members = _members(archive.archive_path(data_dir, OLD))
    assert f"raw/{OLD}/vehicles/brave_001.json" in members
    assert f"raw/{OLD}/vehicles/tavily_001.json" in members


async def test_process_and_import_date_read_archives(data_dir: DataDir) -> None:
    """Processing an archived day restores it, then asks for each raw file (not meta.json)."""
    _day(data_dir, OLD)
    archive.cleanup(data_dir, TODAY, 30, 90)
    publisher = FakePublisher()
    paths = await redrive.process_date(data_dir, publisher, OLD)
    assert paths == [f"raw/{OLD}/vehicles/brave_001.json"]
    imported = await redrive.import_date(data_dir, publisher, OLD)
    assert imported == [f"processed/{OLD}/vehicles/brave_001.jsonl"]
    assert [type(e) for e in publisher.events] == [ProcessFile, ImportFile]
    assert publisher.events[0].record_type == VEHICLES


async def test_redrive_processing_skips_files_with_an_outcome(data_dir: DataDir) -> None:
    """Only raw files with neither processed output nor a file error are re-driven."""
    _day(data_dir, TODAY)
    raw = data_dir.raw(TODAY, VEHICLES)
    (raw / "brave_002.json").write_text("[]")
    (raw / "brave_003.json").write_text("[]")
    errors = data_dir.failed(TODAY, "file_errors") / "vehicles"
    errors.mkdir(parents=True)
    (errors / "brave_003.json").write_text("{}")
    publisher = FakePublisher()
    paths = await redrive.redrive_processing(data_dir, publisher, [TODAY])
    assert paths == [f"raw/{TODAY}/vehicles/brave_002.json"]


def _hostile_archive(data: DataDir, member: tarfile.TarInfo, content: bytes = b"") -> None:
    """Write OLD's archive with one good file, then ``member`` (as a tampered archive could)."""
    target = archive.archive_path(data, OLD)
    target.parent.mkdir(parents=True, exist_ok=True)
    good = tarfile.TarInfo(f"raw/{OLD}/vehicles/brave_001.json")
    good.size = 2
    member.size = len(content) if member.isfile() else 0
    with tarfile.open(target, "w:gz") as tar:
        tar.addfile(good, io.BytesIO(b"[]"))
        tar.addfile(member, io.BytesIO(content) if member.isfile() else None)


def _member(name: str, kind: bytes = tarfile.REGTYPE, link: str = "") -> tarfile.TarInfo:
    member = tarfile.TarInfo(name)
    member.type, member.linkname = kind, link
    return member


ESCAPE = "pipeline-archive-escape"


@pytest.mark.parametrize(
    ("name", "kind", "link"),
    [
        ("{outside}/" + ESCAPE, tarfile.REGTYPE, ""),
        (f"raw/{OLD}/vehicles/../../../../{ESCAPE}", tarfile.REGTYPE, ""),
        (f"raw/{OLD}/vehicles/passwd.json", tarfile.SYMTYPE, "/etc/passwd"),
        (f"raw/{OLD}/vehicles/hard.json", tarfile.LNKTYPE, "/etc/passwd"),
        (f"raw/{OLD}/vehicles/null.json", tarfile.CHRTYPE, ""),
        (f"raw/{OLD}/vehicles/pipe.json", tarfile.FIFOTYPE, ""),
    ],
    ids=["absolute", "dot-dot", "symlink", "hard-link", "device", "fifo"],
)
def test_restore_refuses_a_hostile_member_and_writes_nothing(
    data_dir: DataDir, name: str, kind: bytes, link: str
) -> None:
    """A tampered archive is refused as a whole, on every Python 3.11.x (no tarfile filter)."""
    outside = data_dir.root.parent  # where ../ from the data directory leads
    member = _member(name.format(outside=outside), kind, link)
    _hostile_archive(data_dir, member, b"owned")
    with pytest.raises(archive.UnsafeArchive) as refused:
        archive.restore_day(data_dir, OLD)
    assert member.name in str(refused.value)
    assert str(refused.value).startswith(f"archive/{OLD}.tar.gz: ")
    assert not (data_dir.raw(OLD, VEHICLES) / "brave_001.json").exists()  # nor the good one
    assert not (outside / ESCAPE).exists()


def test_restore_refuses_a_day_folder_that_links_outside(data_dir: DataDir, tmp_path: Path) -> None:
    """A day folder replaced by a link elsewhere is not followed: the file would land outside."""
    _hostile_archive(data_dir, _member(f"raw/{OLD}/vehicles/extra.json"), b"{}")
    outside = tmp_path / "outside"
    outside.mkdir()
    (data_dir.root / "raw").mkdir(exist_ok=True)
    (data_dir.root / "raw" / OLD.isoformat()).symlink_to(outside, target_is_directory=True)
    with pytest.raises(archive.UnsafeArchive, match="outside"):
        archive.restore_day(data_dir, OLD)
    assert list(outside.iterdir()) == []


def test_restored_files_get_the_data_directory_mode_not_the_archive_s(data_dir: DataDir) -> None:
    """A member stored world-writable and set-uid comes back as an ordinary data file."""
    member = _member(f"raw/{OLD}/vehicles/tavily_001.json")
    member.mode = 0o4777
    _hostile_archive(data_dir, member, b"[]")
    assert archive.restore_day(data_dir, OLD)
    restored = data_dir.raw(OLD, VEHICLES) / "tavily_001.json"
    assert restored.read_bytes() == b"[]"
    assert restored.stat().st_mode & 0o7777 == FILE_MODE
