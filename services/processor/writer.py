"""Write one raw file's outputs under temporary names and make them visible together on success.

The valid-records file is always written (possibly empty, so the importer has a file to load);
the failed-records file only when there is an invalid record. If anything raises before the end,
both temporary files are removed and no output of this attempt becomes visible.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from shared.faults import crash_point
from shared.storage import atomic_writer

WRITE_BUFFER = 1 << 20
"""Bytes buffered before a write to the processed file: with the default 8 KiB, the writing
thread made a system call (and gave up and took back the interpreter lock) every ~11 lines."""


class BatchWriter:
    """Context manager over the processed and failed JSON-lines files of one raw file."""

    def __init__(self, processed_path: Path, failed_path: Path) -> None:
        """Remember the final names; nothing is opened before ``__enter__``."""
        self.processed_path = processed_path
        self.failed_path = failed_path
        self._stack = contextlib.ExitStack()
        self._valid: IO[Any] | None = None
        self._failed: IO[Any] | None = None

    def __enter__(self) -> BatchWriter:
        """Open the temporary processed file."""
        self._valid = self._stack.enter_context(
            atomic_writer(self.processed_path, buffering=WRITE_BUFFER)
        )
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Rename the files into place on success; remove the temporary files on an error."""
        self._stack.__exit__(exc_type, exc, tb)
        if exc_type is None and self._failed is None:
            # A stale failure file from an earlier processing version must not outlive it.
            self.failed_path.unlink(missing_ok=True)

    @property
    def has_failures(self) -> bool:
        """Return True once an invalid record has been written."""
        return self._failed is not None

    def write_valid(self, line: bytes) -> None:
        """Append one serialized valid line."""
        assert self._valid is not None, "use BatchWriter as a context manager"  # noqa: S101
        self._valid.write(line)
        crash_point("processor.batch_writing")

    def write_failed(self, line: bytes) -> None:
        """Append one serialized failure line, opening the failed file on first use."""
        if self._failed is None:
            self._failed = self._stack.enter_context(atomic_writer(self.failed_path))
        self._failed.write(line)
