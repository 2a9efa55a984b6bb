"""The intake loop: one task per path, the open-for-writing mark, and the watchdog bridge."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import structlog.testing
from watchdog.events import FileClosedEvent, FileModifiedEvent, FileMovedEvent

from services.collector.pump import Pump
from services.collector.watcher import Change, Notice, QueueBridge
from tests.polling import eventually


def _pump(folder: Path, handled: list[Path], writing_stable_s: float = 60.0) -> Pump:
    async def handle(path: Path) -> None:
        handled.append(path)
        await asyncio.to_thread(path.unlink)

    return Pump(
        folders=[folder],
        handle=handle,
        stable_s=0.05,
        writing_stable_s=writing_stable_s,
        poll_s=0.01,
    )


async def test_repeated_notices_for_one_path_collect_it_once(tmp_path: Path) -> None:
    """Several notices and a scan for the same file while it is in flight start one collection."""
    handled: list[Path] = []
    pump = _pump(tmp_path, handled)
    path = tmp_path / "a.json"
    path.write_text("[]")
    pump.notice(Notice(path, Change.CREATED))
    pump.notice(Notice(path, Change.CLOSED))
    await pump.scan()
    assert len(pump.tasks) == 1
    await eventually(lambda: asyncio.sleep(0, result=handled))
    await pump.close(grace_s=1)
    assert handled == [path]
    assert pump.in_flight == set()


async def test_file_open_for_writing_waits_for_its_close(tmp_path: Path) -> None:
    """A written, not yet closed file is not collected until the close notice arrives."""
    handled: list[Path] = []
    pump = _pump(tmp_path, handled)
    path = tmp_path / "a.json"
    path.write_text("[1")
    pump.notice(Notice(path, Change.WRITTEN))
    other = tmp_path / "b.json"
    other.write_text("[]")
    pump.notice(Notice(other, Change.CLOSED))
    await eventually(lambda: asyncio.sleep(0, result=handled))
    assert handled == [other]
    pump.notice(Notice(path, Change.CLOSED))
    await eventually(lambda: asyncio.sleep(0, result=len(handled) == 2))
    await pump.close(grace_s=1)
    assert handled == [other, path]


async def test_ignored_entries_are_never_handled(tmp_path: Path) -> None:
    """Temporary files, symbolic links and folders are scanned but left alone."""
    handled: list[Path] = []
    pump = _pump(tmp_path, handled)
    (tmp_path / ".hidden.json").write_text("[]")
    (tmp_path / "x.json.part").write_text("[]")
    (tmp_path / "folder").mkdir()
    (tmp_path / "link.json").symlink_to(tmp_path / "x.json.part")
    await pump.scan()
    await asyncio.gather(*pump.tasks)
    await pump.close(grace_s=1)
    assert handled == []
    assert pump.warned == {tmp_path / "folder", tmp_path / "link.json"}


async def test_stop_abandons_files_still_waiting(tmp_path: Path) -> None:
    """Closing the pump ends tasks still waiting for stability without handling them."""
    handled: list[Path] = []
    pump = _pump(tmp_path, handled)
    path = tmp_path / "a.json"
    path.write_text("[]")
    pump.notice(Notice(path, Change.WRITTEN))
    await pump.close(grace_s=5)
    assert handled == []
    assert pump.tasks == set()
    assert path.exists()


async def test_bridge_forwards_observer_thread_events_to_the_queue(tmp_path: Path) -> None:
    """Events raised on another thread reach the asyncio queue as notices, moves as two."""
    queue: asyncio.Queue[Notice] = asyncio.Queue()
    bridge = QueueBridge(asyncio.get_running_loop(), queue)
    a, b = str(tmp_path / "a.tmp"), str(tmp_path / "a.json")

    def observer_thread() -> None:
        bridge.on_modified(FileModifiedEvent(a))
        bridge.on_closed(FileClosedEvent(a))
        bridge.on_moved(FileMovedEvent(a, b))

    thread = threading.Thread(target=observer_thread)
    thread.start()
    await asyncio.to_thread(thread.join)
    notices = [await asyncio.wait_for(queue.get(), 5) for _ in range(4)]
    assert [(n.path.name, n.change) for n in notices] == [
        ("a.tmp", Change.WRITTEN),
        ("a.tmp", Change.CLOSED),
        ("a.tmp", Change.DELETED),
        ("a.json", Change.CLOSED),
    ]


async def test_error_on_one_file_is_logged_and_the_next_file_is_collected(tmp_path: Path) -> None:
    """A PermissionError on one file leaves it in place; other files are still collected."""
    handled: list[Path] = []
    bad = tmp_path / "bad.json"

    async def handle(path: Path) -> None:
        if path == bad:
            raise PermissionError(13, "Permission denied", str(path))
        handled.append(path)

    pump = Pump(folders=[tmp_path], handle=handle, stable_s=0.02, writing_stable_s=1, poll_s=0.01)
    bad.write_text("[]")
    good = tmp_path / "good.json"
    good.write_text("[]")
    with structlog.testing.capture_logs() as logs:
        await pump.scan()
        await asyncio.gather(*pump.tasks)
    await pump.close(grace_s=1)
    assert handled == [good]
    assert bad.exists()
    [failure] = [entry for entry in logs if entry["event"] == "file.failed"]
    assert "Permission denied" in failure["error"]
