"""Collecting one inbox file: raw naming, meta.json content, the event, duplicates, recovery."""

from __future__ import annotations

from pathlib import Path

import nats.errors
import orjson
import pytest

from services.collector import meta
from services.collector.intake import IntakeDeps, handle_inbox_file, record_type_of
from services.collector.recovery import republish_pending
from shared.errors import BadInputError
from shared.events import FileCollected, RecordType, derived_id
from shared.storage import sha256_file
from tests.unit.collector.fakes import NOON, FakeLedger, FakePublisher, make_deps


def _drop(deps: IntakeDeps, name: str, content: bytes, kind: RecordType) -> Path:
    path = deps.data.inbox(kind) / name
    path.write_bytes(content)
    return path


def _meta(deps: IntakeDeps, kind: RecordType = RecordType.VEHICLES) -> list[meta.Entry]:
    return meta.read_entries(deps.data.raw(NOON.date(), kind))


def test_drop_names_are_numbered_with_three_digits() -> None:
    """Raw drop files are named drop_001.json, drop_002.json, ..."""
    assert [meta.drop_name(n) for n in (1, 2, 12, 1000)] == [
        "drop_001.json",
        "drop_002.json",
        "drop_012.json",
        "drop_1000.json",
    ]


async def test_files_get_consecutive_raw_names(tmp_path: Path) -> None:
    """Two different files dropped the same day become drop_001.json and drop_002.json."""
    deps = make_deps(tmp_path)
    first = await handle_inbox_file(_drop(deps, "a.json", b"[1]", RecordType.VEHICLES), deps)
    second = await handle_inbox_file(_drop(deps, "b.json", b"[2]", RecordType.VEHICLES), deps)
    folder = deps.data.raw(NOON.date(), RecordType.VEHICLES)
    assert first == folder / "drop_001.json"
    assert second == folder / "drop_002.json"
    assert second.read_bytes() == b"[2]"
    assert list(deps.data.inbox(RecordType.VEHICLES).iterdir()) == []


async def test_meta_entry_and_event_describe_the_file(tmp_path: Path) -> None:
    """meta.json gets the full entry (published) and FileCollected carries the same facts."""
    publisher = FakePublisher()
    deps = make_deps(tmp_path, publisher)
    content = b'[{"make": "Jaguar"}]'
    src = _drop(deps, "cars.json", content, RecordType.EVENTS)
    sha = sha256_file(src)
    await handle_inbox_file(src, deps)
    entries = _meta(deps, RecordType.EVENTS)
    assert entries == [
        {
            "file": "drop_001.json",
            "original_name": "cars.json",
            "sha256": sha,
            "size_bytes": len(content),
            "source": "drop",
            "tool": "drop",
            "record_type": "events",
            "collected_at": NOON.isoformat(),
            "event_published": True,
        }
    ]
    [event] = publisher.events
    assert isinstance(event, FileCollected)
    assert event.event_id == derived_id("collected", sha)
    assert event.path == "raw/2024-05-17/events/drop_001.json"
    assert (event.sha256, event.size_bytes, event.record_type) == (sha, len(content), "events")
    assert (event.source, event.tool, event.original_name) == ("drop", "drop", "cars.json")
    assert await deps.ledger.get(sha) == event.path


async def test_same_content_twice_is_recorded_as_duplicate(tmp_path: Path) -> None:
    """A second drop of known content is removed, noted with duplicate_of, and not announced."""
    publisher = FakePublisher()
    deps = make_deps(tmp_path, publisher)
    await handle_inbox_file(_drop(deps, "a.json", b"[7]", RecordType.VEHICLES), deps)
    again = _drop(deps, "copy.json", b"[7]", RecordType.VEHICLES)
    assert await handle_inbox_file(again, deps) is None
    assert not again.exists()
    assert len(publisher.events) == 1
    duplicate = _meta(deps)[1]
    assert duplicate["file"] is None
    assert duplicate["original_name"] == "copy.json"
    assert duplicate["duplicate_of"] == "raw/2024-05-17/vehicles/drop_001.json"
    raw_files = deps.data.raw(NOON.date(), RecordType.VEHICLES).glob("*.json")
    assert sorted(p.name for p in raw_files) == ["drop_001.json", "meta.json"]


async def test_ledger_entry_for_a_missing_raw_file_is_ignored(tmp_path: Path) -> None:
    """Content whose recorded raw file was removed is collected again."""
    deps = make_deps(tmp_path)
    src = _drop(deps, "a.json", b"[3]", RecordType.ARTICLES)
    assert isinstance(deps.ledger, FakeLedger)
    deps.ledger.entries[sha256_file(src)] = "raw/2000-01-01/articles/drop_001.json"
    target = await handle_inbox_file(src, deps)
    assert target is not None
    assert target.read_bytes() == b"[3]"


async def test_failed_publish_leaves_entry_unpublished_then_recovery_sends_it(
    tmp_path: Path,
) -> None:
    """If publishing fails the entry stays event_published false; the recovery publishes it."""
    publisher = FakePublisher(error=nats.errors.TimeoutError())
    deps = make_deps(tmp_path, publisher)
    src = _drop(deps, "a.json", b"[5]", RecordType.VEHICLES)
    with pytest.raises(nats.errors.TimeoutError):
        await handle_inbox_file(src, deps)
    assert _meta(deps)[0]["event_published"] is False
    assert await deps.ledger.get(_meta(deps)[0]["sha256"]) is None
    publisher.error = None
    assert await republish_pending(deps) == 1
    assert _meta(deps)[0]["event_published"] is True
    assert [e.path for e in publisher.events] == ["raw/2024-05-17/vehicles/drop_001.json"]


async def test_recovery_adopts_a_raw_drop_file_without_meta_entry(tmp_path: Path) -> None:
    """Raw ``{tool}_NNN.json`` files left by a crash before their meta entry get one each."""
    publisher = FakePublisher()
    deps = make_deps(tmp_path, publisher)
    folder = deps.data.raw(NOON.date(), RecordType.VEHICLES)
    folder.mkdir(parents=True)
    (folder / "drop_001.json").write_bytes(b"[9]")
    (folder / "apify_001.json").write_bytes(b"[8]")
    (folder / "notes.json").write_bytes(b"[7]")
    assert await republish_pending(deps) == 2
    entries = _meta(deps)
    assert [(e["file"], e["tool"], e["event_published"]) for e in entries] == [
        ("apify_001.json", "apify", True),
        ("drop_001.json", "drop", True),
    ]
    assert [e.source for e in publisher.events] == ["apify", "drop"]  # type: ignore[attr-defined]


def test_meta_json_is_an_object_with_files(tmp_path: Path) -> None:
    """meta.json on disk is {"files": [...]} and marking publishes only the named entry."""
    meta.append_entry(tmp_path, {"file": "drop_001.json", "event_published": False})
    meta.append_entry(tmp_path, {"file": "drop_002.json", "event_published": False})
    meta.mark_published(tmp_path, "drop_002.json")
    data = orjson.loads((tmp_path / "meta.json").read_bytes())
    assert data == {
        "files": [
            {"file": "drop_001.json", "event_published": False},
            {"file": "drop_002.json", "event_published": True},
        ]
    }
    assert meta.unpublished(data["files"]) == [data["files"][0]]


def test_record_type_comes_from_the_inbox_folder(tmp_path: Path) -> None:
    """The inbox folder names the record type; a file elsewhere is refused."""
    deps = make_deps(tmp_path)
    assert record_type_of(deps.data.inbox(RecordType.ARTICLES) / "x.json", deps.data) == "articles"
    with pytest.raises(BadInputError):
        record_type_of(deps.data.root / "x.json", deps.data)
