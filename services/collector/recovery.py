"""Finish what a crash interrupted, for the raw folders of today and yesterday.

A ``{tool}_NNN.json`` (``drop_001.json``, ``brave_002.json``) without a ``meta.json`` entry
(crash between move and record) gets an entry; every entry still marked
``event_published: false`` is announced again. Runs at start-up before the inbox scan, and on
every periodic re-scan (which also retries after a NATS outage).
"""

from __future__ import annotations

import asyncio
import re
from datetime import timedelta
from pathlib import Path

import structlog

from services.collector import meta
from services.collector.intake import IntakeDeps, announce
from shared.events import RecordType
from shared.storage import sha256_file

log = structlog.get_logger(__name__)

_TOOL_FILE_RE = re.compile(r"^([a-z][a-z0-9]*)_\d{3,}\.json$")


def adopt_orphans(folder: Path, record_type: RecordType, collected_at: str) -> list[str]:
    """Add a ``meta.json`` entry for each raw ``{tool}_NNN.json`` that has none; return names."""
    if not folder.is_dir():
        return []
    known = {entry.get("file") for entry in meta.read_entries(folder)}
    adopted = []
    for path in sorted(folder.iterdir()):
        match = _TOOL_FILE_RE.match(path.name)
        if match is None or path.name in known or not path.is_file():
            continue
        entry: meta.Entry = {
            "file": path.name,
            "original_name": None,
            "sha256": sha256_file(path),
            "size_bytes": path.stat().st_size,
            "source": match.group(1),
            "tool": match.group(1),
            "record_type": record_type.value,
            "collected_at": collected_at,
            "event_published": False,
        }
        meta.append_entry(folder, entry)
        adopted.append(path.name)
    return adopted


def _pending(folder: Path, record_type: RecordType, collected_at: str) -> list[meta.Entry]:
    adopted = adopt_orphans(folder, record_type, collected_at)
    if adopted:
        log.warning("recovery.orphans_adopted", folder=str(folder), files=adopted)
    return meta.unpublished(meta.read_entries(folder)) if folder.is_dir() else []


async def republish_pending(deps: IntakeDeps) -> int:
    """Announce every raw file of today and yesterday whose event is not confirmed; return count.

    Raises:
        nats.errors.Error: publishing failed; the remaining entries stay pending.
    """
    now = deps.clock()
    count = 0
    for day in (now.date() - timedelta(days=1), now.date()):
        for record_type in RecordType:
            folder = deps.data.raw(day, record_type)
            pending = await asyncio.to_thread(_pending, folder, record_type, now.isoformat())
            for entry in pending:
                await announce(folder, entry, deps)
                log.info("recovery.republished", folder=str(folder), file=entry["file"])
                count += 1
    return count
