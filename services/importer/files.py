"""Processed files on disk: list a day's files and describe one as an ``ImportRequest``.

Used for imports that do not come with a ``BatchProcessed`` event (the ``ImportFile`` command,
``pipeline import``): the batch id, source and raw file are read from the file's first line,
which carries the processor's lineage, and the record type from the folder it lies in.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import orjson

from services.importer.batches import ImportRequest
from shared.errors import BadInputError, PermanentError
from shared.events import RecordType
from shared.storage import DataDir, is_temporary


def processed_files(data_dir: DataDir, day: date) -> list[Path]:
    """Return the day's processed ``*.jsonl`` files, every record type, in a stable order."""
    root = data_dir.root / "processed" / day.isoformat()
    files = [
        path
        for record_type in RecordType
        for path in sorted((root / record_type.value).glob("*.jsonl"))
        if not is_temporary(path)
    ]
    return files


def record_type_of(path: Path, given: RecordType | None = None) -> RecordType:
    """Return ``given``, or the record type named by the file's folder (``.../vehicles/x``).

    Raises:
        BadInputError: no type is given and the folder is not a record type.
    """
    if given is not None:
        return given
    try:
        return RecordType(path.parent.name)
    except ValueError:
        msg = f"cannot tell the record type of {path}: give it, or use processed/DATE/TYPE/"
        raise BadInputError(msg) from None


def first_line(path: Path) -> dict[str, object]:
    """Return the first JSON object line of a file ({} if there is none or it is broken)."""
    with path.open("rb") as handle:
        for raw in handle:
            if raw.strip():
                try:
                    data = orjson.loads(raw)
                except orjson.JSONDecodeError:
                    return {}
                return data if isinstance(data, dict) else {}
    return {}


def count_lines(path: Path) -> int:
    """Return the number of non-blank lines of a file (the rows an import will see)."""
    with path.open("rb") as handle:
        return sum(1 for raw in handle if raw.strip())


def request_for_file(
    data_dir: DataDir, relative: str, trigger_id: str, record_type: RecordType | None = None
) -> ImportRequest:
    """Describe a processed file as an import request; blocking, run it in a thread.

    Raises:
        BadInputError: the path leaves ``processed/`` or its record type is unknown.
        PermanentError: the file cannot be read.
    """
    path = data_dir.resolve(relative, under="processed")
    kind = record_type_of(path, record_type)
    try:
        head = first_line(path)
        rows = count_lines(path)
    except OSError as exc:
        msg = f"cannot read processed file {relative}: {exc.strerror or exc}"
        raise PermanentError(msg) from exc
    batch_id = head.get("batch_id")
    source = head.get("source_name")
    raw_file = head.get("raw_file")
    return ImportRequest(
        processed_path=data_dir.relative(path),
        record_type=kind,
        batch_id=batch_id if isinstance(batch_id, str) else f"file-{data_dir.relative(path)}",
        source=source if isinstance(source, str) else "unknown",
        trigger_id=trigger_id,
        rows_expected=rows,
        raw_path=raw_file if isinstance(raw_file, str) else None,
    )
