"""Named crash points: a process kills itself with SIGKILL at a chosen moment, for fault tests.

Like TiKV's fail points or FoundationDB's buggify, but only one action: a real crash. Code marks
the risky moments with ``crash_point("importer.mid_copy")``; it does nothing unless the
environment variable ``PIPELINE_CRASH_AT`` names that point when the process first reaches one:

- ``PIPELINE_CRASH_AT=importer.mid_copy``: die at the first hit;
- ``PIPELINE_CRASH_AT=processor.batch_writing@300``: die at the 300th hit (the 300th line);
- several points, comma-separated: die at whichever comes first.

Dying is ``os.kill(os.getpid(), SIGKILL)`` after one line on stderr (``crash_point: ...``): no
``finally`` blocks, no atexit, no flush of Python buffers, exactly as a kill from outside. The
variable is read once, at the first call; when it is unset a call costs one global lookup and a
comparison. This module is the one exception to "only settings read the environment": a crash
point must be a one-line call anywhere, with no settings object to pass down.

Every point is listed in ``POINTS`` (its name and the moment it marks); a unit test checks that
the list and the calls in the code agree.
"""

from __future__ import annotations

import os
import signal
import threading
from collections import Counter

ENV_VAR = "PIPELINE_CRASH_AT"

POINTS: dict[str, str] = {
    "storage.move_linked": (
        "move_no_clobber linked the file under its new name, the old name is not yet removed "
        "(the collector moving an inbox drop, or a fetched file, to raw/)"
    ),
    "collector.before_meta": "the file is moved to raw/, its meta.json entry not yet written",
    "collector.before_publish": "the meta.json entry is written, files.collected not published",
    "collector.after_publish": (
        "files.collected got its PubAck, the ledger and meta.json are not yet updated"
    ),
    "processor.batch_writing": (
        "a valid line was written to the temporary processed file (not yet renamed); "
        "use @N for the N-th line"
    ),
    "processor.before_publish": (
        "the processed and failed files are renamed into place, records.processed not published"
    ),
    "processor.before_ack": "records.processed got its PubAck, the message is not yet acked",
    "importer.mid_copy": (
        "a chunk's new rows are COPYed into the table, the transaction not committed"
    ),
    "importer.chunk_committed": "a chunk's transaction committed, the next chunk not started",
    "importer.before_ack": (
        "the batch is committed and records.imported got its PubAck, the message is not acked"
    ),
}
"""Every crash point in the code, with the moment it marks."""

_targets: dict[str, int] | None = None  # None: the variable has not been read yet
_hits: Counter[str] = Counter()
_lock = threading.Lock()  # points are hit from worker threads too (the processor writes in one)


def parse(spec: str) -> dict[str, int]:
    """Return ``{point: hit number}`` for a ``PIPELINE_CRASH_AT`` value (empty when blank).

    Raises:
        ValueError: an entry's hit number is not a positive integer.
    """
    targets: dict[str, int] = {}
    for raw in spec.split(","):
        entry = raw.strip()
        if not entry:
            continue
        name, at, count = entry.partition("@")
        if at and not (count.isdigit() and int(count) >= 1):
            msg = f"{ENV_VAR}: {entry!r}: the hit number after '@' must be 1 or more"
            raise ValueError(msg)
        targets[name.strip()] = int(count) if count else 1
    return targets


def configure(spec: str | None) -> None:
    """Set the crash plan from a spec (``None``: read ``PIPELINE_CRASH_AT`` at the next call).

    Resets the hit counts. Services never call this; tests do.
    """
    global _targets  # the plan is process-wide by nature
    with _lock:
        _targets = None if spec is None else parse(spec)
        _hits.clear()


def crash_point(name: str) -> None:
    """Kill this process with SIGKILL if ``PIPELINE_CRASH_AT`` names ``name`` (at this hit)."""
    targets = _targets
    if targets is None:
        targets = _load()
    if targets and name in targets:
        _hit(name, targets[name])


def _load() -> dict[str, int]:
    global _targets  # read once per process
    with _lock:
        if _targets is None:
            _targets = parse(os.environ.get(ENV_VAR, ""))
        return _targets


def _hit(name: str, at: int) -> None:
    with _lock:
        _hits[name] += 1
        if _hits[name] < at:
            return
        _die(f"crash_point: {name} (hit {_hits[name]}), pid {os.getpid()}: SIGKILL\n")


def _die(line: str) -> None:
    os.write(2, line.encode())  # fd 2, unbuffered: nothing to flush
    os.kill(os.getpid(), signal.SIGKILL)
