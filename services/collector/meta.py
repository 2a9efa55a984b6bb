"""``meta.json`` of a raw folder: one entry per collected (or duplicate) file, and each run.

The file is a JSON object ``{"files": [...], "runs": [...]}``, updated under a lock with an
atomic rewrite, and shared with every tool that writes into the folder. An entry with
``event_published: false`` has a raw file whose ``files.collected`` event may not be out yet;
start-up re-publishes it.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

from shared.storage import update_json

META_NAME = "meta.json"
DROP_TOOL = "drop"

Entry = dict[str, Any]


def drop_name(number: int) -> str:
    """Return the raw file name of the n-th dropped file of a folder (``drop_001.json``)."""
    return tool_name(DROP_TOOL, number)


def tool_name(tool: str, number: int) -> str:
    """Return the raw file name of a tool's n-th file in a folder (``apify_001.json``)."""
    return f"{tool}_{number:03d}.json"


def read_entries(folder: Path) -> list[Entry]:
    """Return the entries of a folder's ``meta.json`` (empty when there is none)."""
    path = folder / META_NAME
    if not path.exists():
        return []
    data = orjson.loads(path.read_bytes())
    files = data.get("files", []) if isinstance(data, dict) else []
    return [entry for entry in files if isinstance(entry, dict)]


def _change_files(change: Callable[[list[Entry]], None]) -> Callable[[Any], Any]:
    def apply(data: Any) -> Any:
        if not isinstance(data, dict):
            data = {"files": []}
        files = data.setdefault("files", [])
        change(files)
        return data

    return apply


def append_entry(folder: Path, entry: Entry) -> None:
    """Append one entry to the folder's ``meta.json``, creating it if needed."""
    update_json(folder / META_NAME, _change_files(lambda files: files.append(entry)), {"files": []})


def append_run(folder: Path, run: Entry) -> None:
    """Append one collection run (query, provider, counts, timings, statuses, errors)."""

    def apply(data: Any) -> Any:
        if not isinstance(data, dict):
            data = {"files": []}
        data.setdefault("runs", []).append(run)
        return data

    update_json(folder / META_NAME, apply, {"files": []})


def read_runs(folder: Path) -> list[Entry]:
    """Return the collection runs recorded in a folder's ``meta.json``."""
    path = folder / META_NAME
    if not path.exists():
        return []
    data = orjson.loads(path.read_bytes())
    runs = data.get("runs", []) if isinstance(data, dict) else []
    return [run for run in runs if isinstance(run, dict)]


def mark_published(folder: Path, file_name: str) -> None:
    """Set ``event_published: true`` on the entry of ``file_name``."""

    def mark(files: list[Entry]) -> None:
        for entry in files:
            if entry.get("file") == file_name:
                entry["event_published"] = True

    update_json(folder / META_NAME, _change_files(mark), {"files": []})


def unpublished(entries: list[Entry]) -> list[Entry]:
    """Return the entries that name a raw file whose event is not confirmed as published."""
    return [e for e in entries if e.get("file") and e.get("event_published") is False]
