"""Clean-up: archive old day folders to ``archive/YYYY-MM-DD.tar.gz``, verified before deleting.

``raw/DAY`` and ``processed/DAY`` go into one archive per day. Failed records have their own,
longer retention; when it ends, ``failed/DAY`` goes to ``archive/failed-YYYY-MM-DD.tar.gz``.
An archive is written under a temporary name, fsynced and renamed; it is then re-opened and every
member's size and SHA-256 compared with the files on disk before anything is deleted. If an
archive of the day exists already (a day restored for a backfill, or a crash after archiving),
its members are carried into the new one. ``restore_day`` brings an archived day back.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tarfile
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path, PurePosixPath

import structlog

from shared.storage import DataDir, atomic_writer

log = structlog.get_logger(__name__)

DAY_STAGES = ("raw", "processed")


class ArchiveMismatch(Exception):
    """An archive does not hold exactly what is on disk; nothing was deleted."""


class UnsafeArchive(tarfile.TarError):
    """An archive member is a link, a device or names a path outside its folder."""


@dataclass
class CleanupReport:
    """What one clean-up did."""

    archived: list[str] = field(default_factory=list)
    expired_failed: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def archive_path(data: DataDir, day: date, prefix: str = "") -> Path:
    """Return the archive of a day (``prefix`` ``failed-`` for expired failed records)."""
    return data.root / "archive" / f"{prefix}{day.isoformat()}.tar.gz"


def _files(data: DataDir, day: date, stages: tuple[str, ...]) -> dict[str, Path]:
    found: dict[str, Path] = {}
    for stage in stages:
        folder = data.root / stage / day.isoformat()
        if folder.is_dir():
            for path in sorted(folder.rglob("*")):
                if path.is_file() and not path.name.endswith(".lock"):
                    found[path.relative_to(data.root).as_posix()] = path
    return found


def _sha256_bytes(handle: object) -> tuple[str, int]:
    digest, size = hashlib.sha256(), 0
    while chunk := handle.read(1 << 20):  # type: ignore[attr-defined]
        digest.update(chunk)
        size += len(chunk)
    return digest.hexdigest(), size


def _digest_file(path: Path) -> tuple[str, int]:
    with path.open("rb") as handle:
        return _sha256_bytes(handle)


def _write(target: Path, files: dict[str, Path]) -> None:
    """Write ``files`` (arcname -> path), plus members of an existing ``target`` not among them."""
    with atomic_writer(target) as handle, tarfile.open(fileobj=handle, mode="w:gz") as tar:
        if target.exists():
            with tarfile.open(target, "r:gz") as old:
                for member in old.getmembers():
                    if member.isfile() and member.name not in files:
                        tar.addfile(member, old.extractfile(member))
        for name, path in files.items():
            tar.add(path, arcname=name, recursive=False)


def verify(target: Path, files: dict[str, Path]) -> None:
    """Check that ``target`` holds each file with the same size and SHA-256.

    Raises:
        ArchiveMismatch: a file is missing or differs.
    """
    with tarfile.open(target, "r:gz") as tar:
        members = {m.name: m for m in tar.getmembers() if m.isfile()}
        for name, path in files.items():
            member = members.get(name)
            extracted = tar.extractfile(member) if member else None
            if extracted is None:
                raise ArchiveMismatch(f"{name} is missing from {target.name}")
            if _sha256_bytes(extracted) != _digest_file(path):
                raise ArchiveMismatch(f"{name} differs in {target.name}")


def archive_day(
    data: DataDir, day: date, stages: tuple[str, ...] = DAY_STAGES, prefix: str = ""
) -> Path | None:
    """Archive the day folders of ``stages``, verify, then delete them; return the archive.

    Raises:
        ArchiveMismatch: verification failed (the folders are kept).
    """
    files = _files(data, day, stages)
    if not files:
        return None
    target = archive_path(data, day, prefix)
    _write(target, files)
    verify(target, files)
    for stage in stages:
        folder = data.root / stage / day.isoformat()
        if folder.is_dir():
            shutil.rmtree(folder)
    log.info("archive.written", archive=data.relative(target), files=len(files))
    return target


def _kind(member: tarfile.TarInfo) -> str:
    if member.issym():
        return f"a symbolic link to {member.linkname!r}"
    if member.islnk():
        return f"a hard link to {member.linkname!r}"
    if member.isdev():
        return "a device or FIFO"
    return f"of tar type {member.type!r}"


def _destination(root: Path, member: tarfile.TarInfo) -> Path | None:
    """Return where a regular-file member goes under ``root`` (None for a directory entry).

    Stricter than ``tarfile``'s ``data`` filter, and checked here so it holds on every Python
    (``extractall``'s ``filter`` argument is missing before 3.11.4): regular files only (no
    links at all), a relative name without ``..`` that stays under ``root`` once links already on
    disk are resolved.

    Raises:
        UnsafeArchive: a link, a device or FIFO, an absolute name, ``..``, or a way out of root.
    """
    name = member.name
    if member.isdir():
        return None
    if not member.isfile():
        raise UnsafeArchive(f"{name!r} is {_kind(member)}, not a regular file")
    parts = PurePosixPath(name).parts
    if not parts or name.startswith("/") or ".." in parts:
        raise UnsafeArchive(f"{name!r} is not a plain relative name")
    target = root.joinpath(*parts)
    if not os.path.realpath(target).startswith(os.path.realpath(root) + os.sep):
        raise UnsafeArchive(f"{name!r} would be written outside {root}")
    return target


def restore_day(data: DataDir, day: date) -> bool:
    """Extract an archived day back into ``raw/`` and ``processed/`` (existing files kept).

    Every member is checked before anything is written (``_destination``); files are written
    one by one with the data directory's own mode, never the archive's.

    Raises:
        UnsafeArchive: a member is hostile; nothing was restored.
    """
    source = archive_path(data, day)
    if not source.is_file():
        return False
    allowed = tuple(f"{stage}/{day.isoformat()}/" for stage in DAY_STAGES)
    restored = 0
    with tarfile.open(source, "r:gz") as tar:
        try:
            members = [(m, _destination(data.root, m)) for m in tar.getmembers()]
        except UnsafeArchive as exc:
            log.error("archive.refused", archive=data.relative(source), reason=str(exc))
            raise UnsafeArchive(f"{data.relative(source)}: {exc}; nothing restored") from exc
        for member, target in members:
            if target is None or not member.name.startswith(allowed) or target.exists():
                continue
            extracted = tar.extractfile(member)
            if extracted is None:  # pragma: no cover - a regular file always has content
                raise UnsafeArchive(f"{member.name!r} has no content")
            with atomic_writer(target) as handle:
                shutil.copyfileobj(extracted, handle)
            os.utime(target, (member.mtime, member.mtime))
            restored += 1
    log.info("archive.restored", archive=data.relative(source), files=restored)
    return True


def _day_folders(root: Path) -> list[date]:
    days = []
    if root.is_dir():
        for entry in os.scandir(root):
            try:
                days.append(date.fromisoformat(entry.name))
            except ValueError:
                continue
    return sorted(days)


def cleanup(
    data: DataDir, today: date, retention_days: int, failed_retention_days: int
) -> CleanupReport:
    """Archive raw+processed days older than the retention, and failed days older than theirs."""
    report = CleanupReport()
    cutoff = today - timedelta(days=retention_days)
    days = sorted(
        {d for stage in DAY_STAGES for d in _day_folders(data.root / stage) if d < cutoff}
    )
    for day in days:
        try:
            if archive_day(data, day) is not None:
                report.archived.append(day.isoformat())
        except (ArchiveMismatch, OSError, tarfile.TarError) as exc:
            report.errors.append(f"{day}: {exc}")
            log.error("archive.failed", day=day.isoformat(), error=str(exc))
    failed_cutoff = today - timedelta(days=failed_retention_days)
    for day in _day_folders(data.root / "failed"):
        if day >= failed_cutoff:
            continue
        try:
            if archive_day(data, day, ("failed",), "failed-") is not None:
                report.expired_failed.append(day.isoformat())
        except (ArchiveMismatch, OSError, tarfile.TarError) as exc:
            report.errors.append(f"failed/{day}: {exc}")
    return report
