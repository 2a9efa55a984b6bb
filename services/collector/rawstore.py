"""Write a run's items to ``raw/DATE/{type}/{tool}_NNN.json`` and announce each file.

Each file holds at most ``per_file`` items as a JSON array, verbatim. A file is written under a
dot-named temporary name, fsynced, then moved to the first free ``{tool}_NNN.json`` with
``move_no_clobber``; then its ``meta.json`` entry is added and it is announced exactly like an
inbox drop (``intake.announce``), so the crash recovery covers both. Content already collected
(same SHA-256 in the ledger) is recorded as a duplicate and not written again.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import uuid
from pathlib import Path
from typing import Any

import orjson
import structlog

from services.collector import meta
from services.collector.intake import IntakeDeps, announce
from shared.events import RecordType
from shared.storage import TEMP_PREFIX, atomic_writer, move_no_clobber

log = structlog.get_logger(__name__)


def _write_new(folder: Path, tool: str, payload: bytes) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    temporary = folder / f"{TEMP_PREFIX}{uuid.uuid4().hex}.json"
    with atomic_writer(temporary) as handle:
        handle.write(payload)
    return move_no_clobber(temporary, folder, functools.partial(meta.tool_name, tool))


async def store_items(
    deps: IntakeDeps,
    record_type: RecordType,
    tool: str,
    items: list[dict[str, Any]],
    per_file: int,
    run: meta.Entry,
) -> list[str]:
    """Write ``items`` in files of at most ``per_file``; return the new files' relative paths.

    ``run`` fields (``run_id``, ``query``) are copied into each file's ``meta.json`` entry.
    """
    now = deps.clock()
    folder = deps.data.raw(now.date(), record_type)
    written: list[str] = []
    for start in range(0, len(items), per_file):
        chunk = items[start : start + per_file]
        payload = orjson.dumps(chunk, option=orjson.OPT_INDENT_2)
        sha256 = hashlib.sha256(payload).hexdigest()
        known = await deps.ledger.get(sha256)
        if known is not None and await asyncio.to_thread((deps.data.root / known).is_file):
            entry: meta.Entry = {"file": None, "sha256": sha256, "duplicate_of": known, **run}
            await asyncio.to_thread(meta.append_entry, folder, entry)
            log.info("raw.duplicate", tool=tool, sha256=sha256, duplicate_of=known)
            continue
        target = await asyncio.to_thread(_write_new, folder, tool, payload)
        entry = {
            "file": target.name,
            "original_name": None,
            "sha256": sha256,
            "size_bytes": len(payload),
            "source": tool,
            "tool": tool,
            "record_type": record_type.value,
            "record_count": len(chunk),
            "collected_at": now.isoformat(),
            "event_published": False,
            **run,
        }
        await asyncio.to_thread(meta.append_entry, folder, entry)
        await announce(folder, entry, deps)
        written.append(deps.data.relative(target))
        log.info("raw.written", path=written[-1], records=len(chunk), tool=tool)
    return written
