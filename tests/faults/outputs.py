"""What a reader of the data folder would see: complete outputs only, no temporary file.

A fault test checks the folder the way a user reads it: every processed file parses whole and holds
the count its day's ``processing_report.json`` gives, every failed-records file likewise, every raw
file is byte for byte a file that was dropped, and (once the services stopped cleanly) no
temporary file (``shared.storage.TEMP_PREFIX``) is left behind.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from pathlib import Path

from shared.storage import TEMP_PREFIX


def temporary_files(root: Path) -> list[Path]:
    """Return the temporary files of the product's atomic writes left under ``root``."""
    return sorted(p for p in root.rglob(f"{TEMP_PREFIX}*") if p.is_file())


def _lines_if_whole(path: Path) -> int | None:
    """Return the number of JSON lines of ``path``, or None if any line does not parse."""
    data = path.read_bytes()
    if data and not data.endswith(b"\n"):
        return None
    count = 0
    for line in data.splitlines():
        try:
            json.loads(line)
        except ValueError:
            return None
        count += 1
    return count


def reported_files(root: Path) -> dict[str, dict[str, object]]:
    """Return every report entry of every day, keyed by the raw file it describes."""
    entries: dict[str, dict[str, object]] = {}
    for report in (root / "processed").glob("*/processing_report.json"):
        entries.update(json.loads(report.read_text()).get("files", {}))
    return entries


def _counted(root: Path) -> dict[Path, int]:
    """Return each output file a report entry names, with the count the entry gives it."""
    counted: dict[Path, int] = {}
    for entry in reported_files(root).values():
        for key, count in (("processed_path", "records_valid"), ("failed_path", "records_invalid")):
            if entry.get(key):
                counted[root / str(entry[key])] = int(str(entry[count]))
    return counted


def _unlike_dropped(root: Path, dropped: Collection[bytes]) -> list[str]:
    known = set(dropped)
    return [
        f"raw file unlike any dropped: {raw}"
        for raw in (root / "raw").glob("*/*/*.json")
        if raw.name != "meta.json" and raw.read_bytes() not in known
    ]


def _misreported(path: Path, counted: dict[Path, int], *, settled: bool) -> str | None:
    lines = _lines_if_whole(path)
    if lines is None:
        return f"output file does not parse whole: {path}"
    if path in counted and counted[path] != lines:
        return f"{path} holds {lines} lines, its report says {counted[path]}"
    if path not in counted and settled:
        return f"output file named by no report entry: {path}"
    return None


def incomplete_outputs(root: Path, dropped: Collection[bytes], *, settled: bool) -> list[str]:
    """Return what a reader of ``root`` could mistake for complete output (empty when none).

    ``dropped`` holds the bytes of every file moved into the inbox. With ``settled`` (all work
    done) every processed and failed-records file must also be named by a report entry; before
    that such a file may still wait for its entry, but must parse whole.
    """
    counted = _counted(root)
    problems = _unlike_dropped(root, dropped)
    outputs = [
        *(root / "processed").glob("*/*/*.jsonl"),
        *(root / "failed").glob("*/validation_errors/*/*.jsonl"),
    ]
    problems += [p for p in (_misreported(o, counted, settled=settled) for o in outputs) if p]
    problems += [f"reported output missing: {path}" for path in counted if not path.is_file()]
    return problems
