"""The retry queue: batches that could not be imported, kept as files until re-driven.

A dead-lettered ``records.processed`` message becomes ``failed/DATE/retry_queue/<batch_id>.json``
holding the original payload, the reason and when it was queued; ``pipeline retry-failed``
re-drives it and removes the file once the batch loads (or rewrites it with the new reason).
"""

from __future__ import annotations

import hashlib
import re
from datetime import date
from pathlib import Path
from typing import Any

import orjson

from shared.errors import BadInputError
from shared.events import utcnow
from shared.storage import DataDir, day_of, write_json_atomic

RETRY_QUEUE = "retry_queue"
_UNSAFE_RE = re.compile(r"[^A-Za-z0-9._-]")


def queue_name(payload: dict[str, Any]) -> str:
    """Return the batch id of a payload as a safe file stem (a digest when there is none)."""
    batch_id = payload.get("batch_id")
    if isinstance(batch_id, str) and batch_id.strip():
        return _UNSAFE_RE.sub("_", batch_id.strip())[:120]
    return "payload-" + hashlib.sha256(orjson.dumps(payload)).hexdigest()[:16]


def queue_day(payload: dict[str, Any]) -> date:
    """Return the day a payload is filed under: its processed file's day, else today (UTC)."""
    processed = payload.get("processed_path")
    if isinstance(processed, str):
        try:
            return day_of(Path(processed))
        except BadInputError:
            pass
    return utcnow().date()


def queue_path(data_dir: DataDir, payload: dict[str, Any]) -> Path:
    """Return ``failed/DATE/retry_queue/<batch_id>.json`` for a payload."""
    return data_dir.failed(queue_day(payload), RETRY_QUEUE) / f"{queue_name(payload)}.json"


def write_entry(
    path: Path, payload: dict[str, Any], reason: str, *, subject: str, attempts: int = 1
) -> dict[str, Any]:
    """Write (atomically) and return a queue entry: payload, reason and when it was queued."""
    entry = {
        "payload": payload,
        "reason": reason,
        "subject": subject,
        "queued_at": utcnow().isoformat(),
        "attempts": attempts,
    }
    write_json_atomic(path, entry)
    return entry


def read_entry(path: Path) -> dict[str, Any]:
    """Return a queue entry (raises ``OSError`` or ``orjson.JSONDecodeError`` if unreadable)."""
    data = orjson.loads(path.read_bytes())
    if not isinstance(data, dict) or not isinstance(data.get("payload"), dict):
        msg = f"{path} is not a retry-queue entry"
        raise ValueError(msg)
    return data


def queued(data_dir: DataDir, day: date) -> list[Path]:
    """Return the day's queued batch files in name order."""
    return sorted(
        p for p in data_dir.failed(day, RETRY_QUEUE).glob("*.json") if not p.name.startswith(".")
    )
