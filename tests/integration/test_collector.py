"""The collector against the real JetStream server and a real watched inbox folder."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import orjson
import pytest

from services.collector import meta
from services.collector.app import serve
from services.collector.config import CollectorSettings
from services.collector.schedule import Scheduler
from shared import subjects
from shared.bus import Bus
from shared.events import FileCollected, RecordType, derived_id, utcnow
from shared.lifecycle import BackgroundTaskError
from shared.settings import PipelineSettings
from shared.storage import DataDir, sha256_file, write_json_atomic
from tests.conftest import recorded
from tests.integration.conftest import delete_collector_buckets
from tests.polling import eventually

pytestmark = pytest.mark.nats

VEHICLES = RecordType.VEHICLES
Start = Callable[[], Awaitable[None]]


@pytest.fixture
async def received(bus: Bus) -> AsyncIterator[list[FileCollected]]:
    """Collect every FileCollected of this test's namespace with a probe consumer."""
    async with recorded(bus, subjects.FILES_COLLECTED, FileCollected) as seen:
        yield seen


@pytest.fixture
async def start_collector(
    settings: PipelineSettings, bus: Bus, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Start]:
    """Return a function that starts the collector; it is stopped and its bucket deleted after."""
    monkeypatch.setenv("COLLECTOR_STABLE_S", "0.3")
    collector_settings = CollectorSettings()
    stop = asyncio.Event()
    tasks: list[asyncio.Task[None]] = []

    async def start() -> None:
        tasks.append(asyncio.create_task(serve(collector_settings, stop)))

    yield start
    stop.set()
    await asyncio.wait_for(asyncio.gather(*tasks), timeout=30)
    await delete_collector_buckets(bus)


def _raw(data_dir: DataDir) -> Path:
    return data_dir.raw(utcnow().date(), VEHICLES)


def _source(tmp_path: Path, name: str, content: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(content)
    return path


async def _entries(folder: Path) -> list[meta.Entry]:
    return await asyncio.to_thread(meta.read_entries, folder)


async def _exists(path: Path) -> bool:
    return await asyncio.to_thread(path.exists)


async def _gone(path: Path) -> bool:
    return not await asyncio.to_thread(path.exists)


async def _published(folder: Path, count: int) -> list[meta.Entry]:
    entries = [e for e in await _entries(folder) if e.get("event_published")]
    return entries if len(entries) >= count else []


async def _events(received: list[FileCollected], count: int) -> list[FileCollected]:
    return received if len(received) >= count else []


async def test_dropped_file_is_moved_recorded_and_announced(
    start_collector: Start, data_dir: DataDir, received: list[FileCollected], tmp_path: Path
) -> None:
    """A JSON file copied into inbox/vehicles becomes drop_001.json, published, with its event."""
    content = orjson.dumps([{"make": "Porsche", "model": "356", "year": 1959}])
    source = _source(tmp_path, "porsche.json", content)
    await start_collector()
    await asyncio.to_thread(shutil.copy, source, data_dir.inbox(VEHICLES) / "porsche.json")
    [entry] = await eventually(lambda: _published(_raw(data_dir), 1))
    [event] = await eventually(lambda: _events(received, 1))
    target = _raw(data_dir) / "drop_001.json"
    assert target.read_bytes() == content
    assert not (data_dir.inbox(VEHICLES) / "porsche.json").exists()
    assert entry["file"] == "drop_001.json"
    assert entry["original_name"] == "porsche.json"
    assert entry["sha256"] == sha256_file(target)
    assert event.path == data_dir.relative(target)
    assert event.event_id == derived_id("collected", entry["sha256"])
    assert (event.record_type, event.source, event.size_bytes) == (VEHICLES, "drop", len(content))


async def test_slowly_written_file_is_moved_only_when_complete(
    start_collector: Start, data_dir: DataDir, received: list[FileCollected]
) -> None:
    """A file written in chunks with pauses longer than the stable time is moved only whole."""
    chunks = [b'[{"make": "Jaguar", "model": "E-Type"}', b', {"make": "Lancia"}', b"]"]
    inbox_file = data_dir.inbox(VEHICLES) / "slow.json"
    await start_collector()
    # A collected warm-up file proves the watcher runs: a file already being written when the
    # service starts is only guarded by the stability time, not by the close event.
    warm_up = data_dir.inbox(RecordType.ARTICLES) / "warm-up.json"
    await asyncio.to_thread(warm_up.write_bytes, b"[]")
    await eventually(lambda: _events(received, 1))
    handle = await asyncio.to_thread(inbox_file.open, "wb")
    marks = [f"mark-{number}.json" for number in range(len(chunks))]
    try:
        for number, chunk in enumerate(chunks):
            await asyncio.to_thread(handle.write, chunk)
            await asyncio.to_thread(handle.flush)
            await asyncio.sleep(0.6)  # the writer's pause (twice COLLECTOR_STABLE_S), not a wait
            # A file dropped after the chunk and collected shows the collector has looked since
            # (a slow collector would otherwise pass by not having looked yet).
            mark = data_dir.inbox(RecordType.ARTICLES) / marks[number]
            await asyncio.to_thread(mark.write_bytes, b"[]" + b" " * (number + 1))
            await eventually(lambda: _events(received, 2 + number))  # noqa: B023 - awaited here
            assert inbox_file.exists(), "collected while still open for writing"
    finally:
        await asyncio.to_thread(handle.close)
    await eventually(lambda: _published(_raw(data_dir), 1))
    assert (_raw(data_dir) / "drop_001.json").read_bytes() == b"".join(chunks)
    events = await eventually(lambda: _events(received, 2 + len(marks)))
    assert [e.original_name for e in events] == ["warm-up.json", *marks, "slow.json"]


async def test_dot_temp_files_and_symlinks_are_left_alone(
    start_collector: Start, data_dir: DataDir, tmp_path: Path
) -> None:
    """Hidden and temporary files and symbolic links stay in the inbox; a normal file is taken."""
    inbox = data_dir.inbox(VEHICLES)
    await start_collector()
    left = [inbox / ".hidden.json", inbox / "upload.json.part", inbox / ".tmp-x"]
    for path in left:
        await asyncio.to_thread(path.write_bytes, b"[]")
    link = inbox / "link.json"
    link.symlink_to(_source(tmp_path, "elsewhere.json", b"[1]"))
    await asyncio.to_thread(shutil.copy, _source(tmp_path, "ok.json", b"[2]"), inbox / "ok.json")
    await eventually(lambda: _published(_raw(data_dir), 1))
    assert all(path.exists() for path in left)
    assert link.is_symlink()
    assert sorted(p.name for p in _raw(data_dir).glob("*.json")) == ["drop_001.json", "meta.json"]


async def test_same_content_dropped_twice_gives_one_raw_file_and_one_event(
    start_collector: Start,
    bus: Bus,
    data_dir: DataDir,
    received: list[FileCollected],
    tmp_path: Path,
) -> None:
    """Two drops of identical content, at once, keep one raw file and announce it once."""
    source = _source(tmp_path, "same.json", b'[{"make": "Alfa Romeo"}]')
    inbox = data_dir.inbox(VEHICLES)
    await start_collector()
    await asyncio.to_thread(shutil.copy, source, inbox / "first.json")
    await asyncio.to_thread(shutil.copy, source, inbox / "second.json")
    entries = await eventually(
        lambda: _entries_if(_raw(data_dir), lambda es: len(es) == 2 and _all_published(es))
    )
    await eventually(lambda: _events(received, 1))
    durable = bus.names.durable("probe", subjects.FILES_COLLECTED)
    info = await bus.js.consumer_info(bus.names.stream, durable)
    collected = [e for e in entries if e["file"]]
    duplicates = [e for e in entries if e["file"] is None]
    assert len(collected) == 1
    assert len(duplicates) == 1
    assert duplicates[0]["duplicate_of"] == f"raw/{utcnow().date()}/vehicles/drop_001.json"
    assert info.delivered.stream_seq == 1  # exactly one event reached the stream
    assert len(received) == 1
    assert await _gone(inbox / "first.json")
    assert await _gone(inbox / "second.json")
    assert sorted(p.name for p in _raw(data_dir).glob("*.json")) == ["drop_001.json", "meta.json"]


def _all_published(entries: list[meta.Entry]) -> bool:
    return all(e.get("event_published", True) for e in entries)


async def _entries_if(folder: Path, check: Callable[[list[meta.Entry]], bool]) -> list[meta.Entry]:
    entries = await _entries(folder)
    return entries if check(entries) else []


async def test_files_waiting_before_start_are_collected_at_start_up(
    start_collector: Start, data_dir: DataDir, received: list[FileCollected]
) -> None:
    """Files already in the inboxes when the service starts are collected by the start-up scan."""
    await asyncio.to_thread(
        (data_dir.inbox(VEHICLES) / "early.json").write_bytes, b'[{"make": "MG"}]'
    )
    await asyncio.to_thread(
        (data_dir.inbox(RecordType.ARTICLES) / "story.json").write_bytes, b'[{"title": "x"}]'
    )
    await start_collector()
    events = await eventually(lambda: _events(received, 2))
    assert sorted(e.path for e in events) == [
        f"raw/{utcnow().date()}/articles/drop_001.json",
        f"raw/{utcnow().date()}/vehicles/drop_001.json",
    ]
    assert await _gone(data_dir.inbox(VEHICLES) / "early.json")


async def test_unpublished_raw_entry_is_announced_at_start_up(
    start_collector: Start, data_dir: DataDir, received: list[FileCollected]
) -> None:
    """A raw file whose event was unconfirmed at a crash is published when the service starts."""
    folder = _raw(data_dir)
    raw_file = folder / "drop_001.json"
    write_json_atomic(raw_file, [{"make": "Austin-Healey"}])
    sha = sha256_file(raw_file)
    entry = {
        "file": "drop_001.json",
        "original_name": "healey.json",
        "sha256": sha,
        "size_bytes": raw_file.stat().st_size,
        "source": "drop",
        "tool": "drop",
        "record_type": "vehicles",
        "collected_at": utcnow().isoformat(),
        "event_published": False,
    }
    meta.append_entry(folder, entry)
    await start_collector()
    [event] = await eventually(lambda: _events(received, 1))
    await eventually(lambda: _published(folder, 1))
    assert event.event_id == derived_id("collected", sha)
    assert event.original_name == "healey.json"


async def test_a_crashing_schedule_stops_the_collector_as_a_crash(
    settings: PipelineSettings, bus: Bus, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The schedule loop raising stops the collector at once with the error, not at shutdown."""

    async def broken(self: Scheduler, stop: asyncio.Event, max_wait_s: float = 60.0) -> None:
        raise RuntimeError("schedule broke")

    monkeypatch.setattr(Scheduler, "run", broken)
    stop = asyncio.Event()
    try:
        with pytest.raises(BackgroundTaskError, match="schedule"):
            await asyncio.wait_for(serve(CollectorSettings(), stop), timeout=30)
        assert stop.is_set()
    finally:
        await delete_collector_buckets(bus)
