"""Read a raw file: stream its values with ijson, in constant memory, whatever its JSON shape.

Accepted shapes, told apart by the first significant byte (after an optional UTF-8 BOM):

- ``[`` a JSON array: each element is a record;
- ``{`` an envelope object holding the records in a list under one of ``ENVELOPE_KEYS``
  (``items``, ``data``, ``records``, ``results``, ``listings``...) or the record type's name;
  otherwise JSON Lines or concatenated objects, where each top-level value is a record.

Numbers come out as ``int`` or ``Decimal`` (never float), so prices stay exact. Anything that
cannot be parsed raises ``UnreadableFileError`` with the reason and how far reading got.

``NaN`` and ``Infinity`` are not JSON, but exporters write them. So that one such value does not
reject a whole file, a file of up to ``SANITIZE_MAX_BYTES`` that holds them is read with those
bare tokens turned into strings (strings are left untouched); the record that carries one then
fails validation with its own reason, and its neighbours load.

Deeply nested JSON makes the C parser's work grow with the square of the depth and crashes
whatever walks a record recursively, so a file nested deeper than ``MAX_DEPTH`` is rejected up
front with that reason (``nesting``: the depth is counted from the file's structure, values
between the brackets or not).
"""

from __future__ import annotations

import io
import itertools
import re
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import ijson

from shared.errors import BadInputError
from shared.events import RecordType

from .nesting import NestingCounter

ENVELOPE_KEYS = frozenset(
    {"items", "data", "records", "results", "listings", "cars", "inventory", "lots", "hits", "rows",
     "entries", "posts"}
)  # fmt: skip
"""Keys under which exports and APIs put their list of records ("listings", an auction's "lots",
a search index's "hits"...); the record type's own name is one too."""
_BOM = b"\xef\xbb\xbf"
_WHITESPACE = b" \t\r\n"
_SCALAR_STARTS = b'"-0123456789tfn'
_DEPTH = {"start_map": 1, "start_array": 1, "end_map": -1, "end_array": -1}
_PEEK_BYTES = 1 << 16
SANITIZE_MAX_BYTES = 64 << 20
_SUSPECT_RE = re.compile(rb"[:,\[]\s*-?(?:NaN|Infinity)\b")
_TOKEN_RE = re.compile(rb'"(?:[^"\\]|\\.)*"|(-?Infinity|NaN)')
MAX_DEPTH = 64
_NAN_WORDS = (b"NaN", b"Infinity")


def _load_backend() -> Any:
    try:
        return ijson.get_backend("yajl2_c")
    except ImportError:  # no C extension on this platform: ijson's best available backend
        return ijson


BACKEND = _load_backend()


class UnreadableFileError(BadInputError):
    """The file as a whole cannot be read as JSON; nothing of it is used."""

    def __init__(
        self, reason: str, *, records_read: int | None = None, bytes_read: int | None = None
    ) -> None:
        """Keep the reason and, when known, how many records and bytes were read before it."""
        super().__init__(reason)
        self.reason = reason
        self.records_read = records_read
        self.bytes_read = bytes_read

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickle with the position (it crosses from the reader process to the service)."""
        return (_unreadable, (self.reason, self.records_read, self.bytes_read))

    def position(self) -> dict[str, int]:
        """Return where the error was found, as far as it is known."""
        known = {"records_before_error": self.records_read, "bytes_read": self.bytes_read}
        return {key: value for key, value in known.items() if value is not None}


def _unreadable(
    reason: str, records_read: int | None, bytes_read: int | None
) -> UnreadableFileError:
    return UnreadableFileError(reason, records_read=records_read, bytes_read=bytes_read)


class _CountingReader:
    """A file wrapper that counts the bytes handed to the parser (for error positions)."""

    def __init__(self, handle: IO[bytes]) -> None:
        self.handle = handle
        self.bytes_read = handle.tell()

    def read(self, size: int = -1) -> bytes:
        chunk = self.handle.read(size)
        self.bytes_read += len(chunk)
        return chunk


def iter_values(path: Path, record_type: RecordType) -> Iterator[Any]:
    """Yield the top-level records of a raw file one by one (objects or, if invalid, anything).

    Raises:
        UnreadableFileError: the file is empty, not JSON, truncated or a top-level scalar.
    """
    with path.open("rb") as raw_handle:
        first = _seek_first_significant_byte(raw_handle)
        handle = _without_bare_nan(raw_handle)
        reader = _CountingReader(handle)
        values = _values_for(first, reader, record_type)
        count = 0
        try:
            for value in values:
                yield value
                count += 1
        except (ijson.JSONError, UnicodeDecodeError, ValueError) as exc:
            reason = f"not valid JSON: {_first_line(exc)}"
            raise UnreadableFileError(
                reason, records_read=count, bytes_read=reader.bytes_read
            ) from exc


def _values_for(first: bytes, reader: _CountingReader, record_type: RecordType) -> Iterator[Any]:
    if first == b"[":
        return iter(BACKEND.items(reader, "item", use_float=False))
    if first == b"{":
        return _object_stream(reader, ENVELOPE_KEYS | {record_type.value})
    if not first:
        raise UnreadableFileError("empty file", records_read=0, bytes_read=reader.bytes_read)
    if first in _SCALAR_STARTS:
        reason = "top-level value is a scalar, not an array or object of records"
    else:
        reason = f"not JSON: starts with byte 0x{first.hex()}"
    raise UnreadableFileError(reason, records_read=0, bytes_read=reader.bytes_read)


def _without_bare_nan(handle: IO[bytes]) -> IO[bytes]:
    """Return ``handle``, or an in-memory copy with bare NaN/Infinity quoted if it has any.

    The scan reads in chunks (constant memory); only a file that holds such a token, and is
    within ``SANITIZE_MAX_BYTES``, is read whole.

    Raises:
        UnreadableFileError: the file nests containers deeper than ``MAX_DEPTH``.
    """
    start = handle.tell()
    size = handle.seek(0, io.SEEK_END)
    has_nan = _scan(handle, start, check_nan=size <= SANITIZE_MAX_BYTES)
    handle.seek(start)
    if not has_nan:
        return handle
    quoted = _TOKEN_RE.sub(
        lambda m: m.group(0) if m.group(1) is None else b'"' + m.group(1) + b'"', handle.read()
    )
    return io.BytesIO(quoted)


def _scan(handle: IO[bytes], start: int, *, check_nan: bool) -> bool:
    """Read the file once in chunks: refuse deep nesting, and say whether bare NaN occurs."""
    handle.seek(start)
    tail, has_nan = b"", False
    nesting = NestingCounter()
    while chunk := handle.read(_PEEK_BYTES):
        if nesting.feed(chunk) > MAX_DEPTH:
            reason = f"JSON nested deeper than {MAX_DEPTH} levels"
            raise UnreadableFileError(reason, records_read=0, bytes_read=handle.tell())
        window = tail + chunk
        has_nan = has_nan or (check_nan and _has_bare_nan(window))
        tail = window[-512:]
    return has_nan


def _has_bare_nan(window: bytes) -> bool:
    """Say whether ``window`` holds a bare NaN or Infinity (a substring test rules most out)."""
    return any(word in window for word in _NAN_WORDS) and _SUSPECT_RE.search(window) is not None


def _seek_first_significant_byte(handle: IO[bytes]) -> bytes:
    """Position ``handle`` at its first byte that is not a BOM or whitespace; return that byte."""
    offset = len(_BOM) if handle.read(len(_BOM)) == _BOM else 0
    handle.seek(offset)
    while chunk := handle.read(_PEEK_BYTES):
        stripped = chunk.lstrip(_WHITESPACE)
        if stripped:
            offset += len(chunk) - len(stripped)
            handle.seek(offset)
            return stripped[:1]
        offset += len(chunk)
    return b""


def _object_stream(reader: _CountingReader, keys: frozenset[str]) -> Iterator[Any]:
    """Yield the list under an envelope key, or else every top-level value (JSON Lines)."""
    events = iter(BACKEND.parse(reader, multiple_values=True, use_float=False))
    head: list[tuple[str, str, Any]] = []
    depth = 0
    for prefix, event, value in events:
        if depth == 1 and event == "map_key" and value in keys:
            following = next(events, ("", "eof", None))
            if following[1] == "start_array":
                yield from BACKEND.items(itertools.chain([following], events), f"{value}.item")
                return
            head.extend(((prefix, event, value), following))
            depth += _DEPTH.get(following[1], 0)
            continue
        head.append((prefix, event, value))
        depth += _DEPTH.get(event, 0)
        if depth == 0:
            break
    yield from BACKEND.items(itertools.chain(head, events), "")


def _first_line(exc: BaseException) -> str:
    text = exc.args[0] if exc.args else repr(exc)
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="replace")
    return str(text).strip().splitlines()[0] if str(text).strip() else repr(exc)
