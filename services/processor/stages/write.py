"""Write a raw file's outputs: its processed and failed JSON lines, made visible together.

A processed line is serialized in two parts where its chunk is read: the columns before and after
the link fields (``frame``), which linking and the online enrichments fill later on the async side;
``write_chunk`` joins them around the filled link fields, in the exact column order.

``BatchWriter`` writes under temporary names and renames on success. The valid-records file is
always written (possibly empty, so the importer has a file to load); the failed-records file only
when there is an invalid record. If anything raises before the end, both temporary files are
removed and no output of this attempt becomes visible.
"""

from __future__ import annotations

import contextlib
from decimal import Decimal
from pathlib import Path
from types import TracebackType
from typing import IO, TYPE_CHECKING, Any

import orjson

from shared.events import RecordType
from shared.faults import crash_point
from shared.records import LINK_FIELDS, processed_columns
from shared.storage import atomic_writer

if TYPE_CHECKING:  # a chunk imports this module to frame its rows
    from ..chunks import Chunk

WRITE_BUFFER = 1 << 20
"""Bytes buffered before a write to the processed file: with the default 8 KiB, the writing
thread made a system call (and gave up and took back the interpreter lock) every ~11 lines."""

Frame = tuple[bytes, bytes]
"""A processed line without its link fields: what comes before them (ending with a comma) and
what comes after (starting with a comma, ending with the newline)."""


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    raise TypeError


def dumps_line(data: Any) -> bytes:
    """Serialize one JSON line (Decimals become numbers), with the trailing newline."""
    return orjson.dumps(data, default=_json_default, option=orjson.OPT_APPEND_NEWLINE)


def frame_columns(record_type: RecordType) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Return the processed columns before and after the link fields (which are contiguous)."""
    columns = processed_columns(record_type)
    start = columns.index(LINK_FIELDS[0])
    end = start + len(LINK_FIELDS)
    if columns[start:end] != LINK_FIELDS or not start or end == len(columns):
        msg = f"{record_type.value}: link fields must be contiguous, inside the columns"
        raise AssertionError(msg)
    return columns[:start], columns[end:]


def frame(row: dict[str, Any], head: tuple[str, ...], tail: tuple[str, ...]) -> Frame:
    """Return the row's processed line around its link fields (``frame_columns``).

    The line holds exactly the processed columns, in order, whatever else the row holds.

    Raises:
        KeyError: a column is missing from the row (a programming error).
    """
    before = dumps_line({column: row[column] for column in head})  # b'{...}\n'
    after = dumps_line({column: row[column] for column in tail})
    return before[:-2] + b",", b"," + after[1:]


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


def write_chunk(writer: BatchWriter, chunk: Chunk) -> None:
    """Write a chunk's failure lines, then its (linked) rows in the exact column order."""
    for line in chunk.failed:
        writer.write_failed(line)
    for row, (before, after) in zip(chunk.rows, chunk.frames, strict=True):
        fields = dumps_line({name: row[name] for name in LINK_FIELDS})
        writer.write_valid(before + fields[1:-2] + after)
