"""The data folder: its layout, atomic writes and moves, and path safety.

Layout (from the seed): ``inbox/{type}/``, ``raw/DATE/{type}/{tool}_NNN.json`` with ``meta.json``,
``processed/DATE/...``, ``failed/DATE/...``, ``archive/``. A file appears under its final name only
when complete: it is written to a dot-named temporary file in the same folder, fsynced, then
renamed.
"""

from __future__ import annotations

import contextlib
import fcntl
import glob
import hashlib
import os
import re
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import IO, Any

import orjson
import structlog

from shared.errors import BadInputError
from shared.events import RecordType
from shared.faults import crash_point

log = structlog.get_logger(__name__)
_DATE_DIR_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
TEMP_PREFIX = ".tmp-"
_SAFE_PART = re.compile(r"[^A-Za-z0-9_-]+")


def _process_umask() -> int:
    """Return the process's umask (set before start, e.g. UMASK=002 by the image's entrypoint)."""
    mask = os.umask(0o022)  # read once at import, before any thread runs
    os.umask(mask)
    return mask


FILE_MODE = 0o666 & ~_process_umask()
"""Mode of files written atomically: what ``open`` would give under the umask (a temporary file
alone would be 0600, unreadable to the group that shares the data folder)."""


@dataclass(frozen=True)
class DataDir:
    """Paths inside ``DATA_DIR``; every folder is created on first use."""

    root: Path

    def inbox(self, record_type: RecordType) -> Path:
        """Return the watched drop folder for a record type."""
        return self.root / "inbox" / record_type.value

    def raw(self, day: date, record_type: RecordType) -> Path:
        """Return the raw folder of a day and record type."""
        return self.root / "raw" / day.isoformat() / record_type.value

    def processed(self, day: date, record_type: RecordType) -> Path:
        """Return the processed folder of a day and record type."""
        return self.root / "processed" / day.isoformat() / record_type.value

    def failed(self, day: date, kind: str) -> Path:
        """Return the failed-records folder of a day for one kind (validation_errors, ...)."""
        return self.root / "failed" / day.isoformat() / kind

    def file_error(
        self, day: date, record_type: RecordType, stem: str, original_name: str | None = None
    ) -> Path:
        """Return the record of a rejected raw file: ``{stem}.json``, or ``{stem}.{name}.json``.

        ``name`` is the file's name as the user dropped it (``broken.json`` -> ``broken``), made
        safe (letters, digits, ``-`` and ``_``; at most 60 characters), so the failed file is
        found by that name; the raw stem before it keeps the name unique.
        """
        folder = self.failed(day, "file_errors") / record_type.value
        if original_name:
            name = _SAFE_PART.sub("_", Path(original_name).stem).strip("._")[:60]
            if name and name != stem:
                return folder / f"{stem}.{name}.json"
        return folder / f"{stem}.json"

    def file_errors_of(self, day: date, record_type: RecordType, stem: str) -> list[Path]:
        """Return the existing rejection records of a raw file (named with or without its name)."""
        folder = self.failed(day, "file_errors") / record_type.value
        found = [folder / f"{stem}.json", *folder.glob(f"{glob.escape(stem)}.*.json")]
        return [path for path in found if path.is_file() and not is_temporary(path)]

    def ensure_layout(self) -> bool:
        """Create the top-level folders and the inboxes; False (logged) if the disk refuses.

        A read-only or full data folder must not stop a service at start: each piece of work
        then fails transiently (and is redelivered) until the fault clears.
        """
        try:
            for name in ("raw", "processed", "failed", "archive"):
                (self.root / name).mkdir(parents=True, exist_ok=True)
            for record_type in RecordType:
                self.inbox(record_type).mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            log.warning("data_dir.unwritable", root=str(self.root), error=repr(exc))
            return False
        return True

    def relative(self, path: Path) -> str:
        """Return ``path`` relative to the data folder, as events carry it."""
        return path.resolve().relative_to(self.root).as_posix()

    def resolve(self, relative: str, *, under: str | None = None) -> Path:
        """Return the absolute path of a relative (or absolute) path, refusing escapes.

        Raises:
            BadInputError: the path leaves the data folder (``..``, another absolute path) or,
                with ``under``, leaves that sub-folder.
        """
        base = self.root / under if under else self.root
        candidate = Path(relative)
        path = (candidate if candidate.is_absolute() else self.root / candidate).resolve()
        if not path.is_relative_to(base.resolve()):
            msg = f"path {relative!r} is outside {base}"
            raise BadInputError(msg)
        return path


def day_of(path: Path) -> date:
    """Return the date of the ``YYYY-MM-DD`` folder that ``path`` lies in."""
    for part in reversed(path.parts):
        if _DATE_DIR_RE.match(part):
            return date.fromisoformat(part)
    msg = f"{path} is not inside a YYYY-MM-DD folder"
    raise BadInputError(msg)


def is_temporary(path: Path) -> bool:
    """Return True for names that are still being written or hidden (dot files, temp files)."""
    name = path.name
    return (
        name.startswith(".")
        or name.startswith("~")
        or name.endswith((".tmp", ".part", ".partial", ".crdownload", ".swp", "~"))
    )


def fsync_dir(folder: Path) -> None:
    """Flush a folder's entries so a rename survives a crash."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_writer(path: Path, mode: str = "wb", buffering: int = -1) -> Iterator[IO[Any]]:
    """Open a temporary file beside ``path``; on success fsync it and rename it into place.

    On an exception the temporary file is removed and ``path`` is untouched. ``buffering`` is
    ``open``'s (-1: the default 8 KiB).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=TEMP_PREFIX, dir=path.parent)
    tmp = Path(tmp_name)
    try:
        os.fchmod(fd, FILE_MODE)
        with os.fdopen(fd, mode, buffering) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        tmp.replace(path)
        fsync_dir(path.parent)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_json_atomic(path: Path, data: Any) -> None:
    """Write ``data`` as indented JSON to ``path`` atomically."""
    with atomic_writer(path) as handle:
        handle.write(orjson.dumps(data, option=orjson.OPT_INDENT_2))


class FileChangedError(OSError):
    """The file at a path is no longer the one that was checked (swapped for another or a link)."""


def move_no_clobber(
    src: Path,
    folder: Path,
    name_for: Callable[[int], str],
    identity: tuple[int, int] | None = None,
) -> Path:
    """Move ``src`` into ``folder`` under the first free name ``name_for(n)``, n = 1, 2, ...

    A hard link claims the name atomically (it fails if the name exists, even when another
    replica races for it), then the source is unlinked: the file is never in neither place.
    The link is made to ``src`` itself, never through it if it is a symbolic link. With
    ``identity`` (the ``(st_dev, st_ino)`` of the file that was checked and hashed), the new
    name must be that very file, or it is removed again and ``FileChangedError`` raised: a
    file swapped after its check is not moved.
    """
    folder.mkdir(parents=True, exist_ok=True)
    number = _next_number(folder, name_for)
    while True:
        target = folder / name_for(number)
        try:
            os.link(src, target, follow_symlinks=False)
        except FileExistsError:
            number += 1
            continue
        if identity is not None:
            linked = target.lstat()
            if (linked.st_dev, linked.st_ino) != identity:
                target.unlink()
                msg = f"{src.name} changed after it was checked; not moved"
                raise FileChangedError(msg)
        crash_point("storage.move_linked")
        src.unlink()
        fsync_dir(folder)
        fsync_dir(src.parent)
        return target


def _next_number(folder: Path, name_for: Callable[[int], str]) -> int:
    prefix, _, suffix = name_for(0).partition("000")
    numbers = [
        int(p.name[len(prefix) : -len(suffix) or None])
        for p in folder.iterdir()
        if p.name.startswith(prefix)
        and p.name.endswith(suffix)
        and p.name[len(prefix) : -len(suffix) or None].isdigit()
    ]
    return max(numbers, default=0) + 1


@contextlib.contextmanager
def locked(path: Path) -> Iterator[None]:
    """Hold an exclusive advisory lock on ``path.lock`` (shared between replicas on one host)."""
    lock_path = path.with_name(path.name + ".lock")
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with lock_path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def update_json(path: Path, change: Callable[[Any], Any], default: Any) -> Any:
    """Read-modify-write a JSON file under a lock, atomically; return the new content."""
    with locked(path):
        data = orjson.loads(path.read_bytes()) if path.exists() else default
        data = change(data)
        write_json_atomic(path, data)
        return data


def sha256_file(path: Path, chunk_bytes: int = 1 << 20) -> str:
    """Return the hex SHA-256 of a file, read in chunks (constant memory)."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(chunk_bytes):
            digest.update(chunk)
    return digest.hexdigest()
