"""When an inbox file may be read: what to ignore, and the size/mtime stability check.

A file counts as complete once its size, mtime and inode have not changed for a given time;
the polling runs on the event loop, each ``stat`` in a worker thread.
"""

from __future__ import annotations

import asyncio
import os
import stat
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from shared.storage import is_temporary

Signature = tuple[int, int, int]


def signature(st: os.stat_result) -> Signature:
    """Return what must stay unchanged for a file to count as stable: size, mtime, inode."""
    return (st.st_size, st.st_mtime_ns, st.st_ino)


def skip_reason(path: Path, st: os.stat_result) -> str | None:
    """Return why an inbox entry is not collected (``None`` when it is a regular data file).

    ``st`` must come from ``lstat`` so that symbolic links are seen as links.
    """
    if is_temporary(path):
        return "temporary"
    if stat.S_ISLNK(st.st_mode):
        return "symlink"
    if stat.S_ISDIR(st.st_mode):
        return "directory"
    if not stat.S_ISREG(st.st_mode):
        return "not_regular"
    return None


@dataclass
class StabilityTracker:
    """Decide readiness from successive observations: unchanged for ``required_s`` seconds."""

    last: Signature | None = None
    since: float = 0.0

    def observe(self, current: Signature, now: float, required_s: float) -> bool:
        """Record an observation; return True once it has not changed for ``required_s``."""
        if current != self.last:
            self.last = current
            self.since = now
            return False
        return now - self.since >= required_s


async def wait_until_stable(
    path: Path,
    *,
    required_s: Callable[[], float],
    poll_s: float,
    stopping: Callable[[], bool],
    clock: Callable[[], float] = time.monotonic,
) -> os.stat_result | None:
    """Poll ``path`` until it is unchanged for ``required_s()``; return its last ``lstat``.

    ``required_s`` is asked again at each poll, because a close event may shorten it.
    Returns ``None`` when ``stopping()`` turns true first.

    Raises:
        FileNotFoundError: the file vanished while waiting.
    """
    tracker = StabilityTracker()
    while not stopping():
        st = await asyncio.to_thread(os.lstat, path)
        if tracker.observe(signature(st), clock(), required_s()):
            return st
        await asyncio.sleep(poll_s)  # polling interval of the stability check
    return None
