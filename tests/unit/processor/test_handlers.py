"""The handlers without a broker: what they publish, and which inputs they refuse for good."""

from __future__ import annotations

import asyncio
import hashlib
import uuid

import orjson
import pytest

from services.processor.grading import DEFAULT_GRADE_RULES
from services.processor.handlers import (
    Deps,
    handle_file_collected,
    handle_process_file,
    source_of,
)
from services.processor.processing import make_batch_id
from shared.errors import BadInputError, PermanentError
from shared.events import (
    BatchProcessed,
    Event,
    FileCollected,
    FileRejected,
    ProcessFile,
    RecordType,
    derived_id,
)
from shared.storage import DataDir

from .conftest import DAY, RawFactory, vehicle

RAW = f"raw/{DAY}/vehicles/drop_001.json"


class FakeBus:
    """Records published events instead of sending them."""

    def __init__(self) -> None:
        self.published: list[Event] = []

    async def publish(self, event: Event) -> None:
        self.published.append(event)


@pytest.fixture
def fake_bus() -> FakeBus:
    """Return a bus that only records what is published."""
    return FakeBus()


@pytest.fixture
def deps(fake_bus: FakeBus, data_dir: DataDir) -> Deps:
    """Return handler dependencies over the temporary data folder and the fake bus."""
    return Deps(fake_bus, data_dir, DEFAULT_GRADE_RULES, asyncio.Semaphore(2))


def _collected(path: str = RAW, sha256: str = "a" * 64) -> FileCollected:
    return FileCollected(
        path=path,
        sha256=sha256,
        size_bytes=10,
        record_type=RecordType.VEHICLES,
        source="apify",
        tool="apify",
    )


async def test_file_collected_publishes_batch_processed(
    raw_file: RawFactory, deps: Deps, fake_bus: FakeBus
) -> None:
    """A collected file is processed and announced with counts, paths and the event's source."""
    raw_file([vehicle(), vehicle(price=5)])
    event = _collected()
    await handle_file_collected(event, deps)
    (published,) = fake_bus.published
    assert isinstance(published, BatchProcessed)
    assert published.batch_id == make_batch_id("a" * 64)
    assert published.event_id == derived_id("processed", published.batch_id, str(event.event_id))
    assert published.source == "apify"
    assert published.raw_path == RAW
    assert published.processed_path == f"processed/{DAY}/vehicles/drop_001.jsonl"
    assert published.failed_path == f"failed/{DAY}/validation_errors/vehicles/drop_001.jsonl"
    assert (published.records_read, published.records_valid, published.records_invalid) == (2, 1, 1)
    assert published.errors_by_reason == {"business_rule:price": 1}


async def test_redelivered_trigger_reuses_the_event_id(
    raw_file: RawFactory, deps: Deps, fake_bus: FakeBus
) -> None:
    """The same trigger gives the same outcome id (deduped); a new trigger gives a new one."""
    raw_file([vehicle()])
    event = _collected()
    await handle_file_collected(event, deps)
    await handle_file_collected(event, deps)
    await handle_file_collected(_collected(), deps)
    ids = [e.event_id for e in fake_bus.published]
    assert ids[0] == ids[1] != ids[2]


async def test_command_infers_type_hashes_file_and_reads_meta_source(
    raw_file: RawFactory, deps: Deps, fake_bus: FakeBus, data_dir: DataDir
) -> None:
    """A bare path command infers the type, hashes the file and takes the source from meta.json."""
    raw = raw_file([vehicle()])
    meta = [{"file": "other.json", "source": "x"}, {"file": raw.name, "source": "tavily"}]
    (raw.parent / "meta.json").write_bytes(orjson.dumps(meta))
    await handle_process_file(ProcessFile(path=RAW), deps)
    (published,) = fake_bus.published
    assert isinstance(published, BatchProcessed)
    assert published.record_type is RecordType.VEHICLES
    assert published.batch_id == make_batch_id(hashlib.sha256(raw.read_bytes()).hexdigest())
    assert published.source == "tavily"


def test_source_defaults_to_the_file_name_prefix(raw_file: RawFactory) -> None:
    """Without a meta.json entry the source is the file name before the first underscore."""
    assert source_of(raw_file([], name="brave_007.json")) == "brave"
    raw = raw_file([], name="drop_001.json")
    (raw.parent / "meta.json").write_bytes(b"{broken")
    assert source_of(raw) == "drop"


async def test_unreadable_file_is_rejected_and_acked(
    raw_file: RawFactory, deps: Deps, fake_bus: FakeBus
) -> None:
    """A file that is not JSON publishes FileRejected with the reason and returns normally."""
    raw_file(b"<html>")
    await handle_process_file(ProcessFile(path=RAW, event_id=uuid.uuid4()), deps)
    (published,) = fake_bus.published
    assert isinstance(published, FileRejected)
    assert published.stage == "processor"
    assert "not JSON" in published.reason
    assert published.error_file == f"failed/{DAY}/file_errors/vehicles/drop_001.json"


async def test_a_rejected_drop_is_named_as_dropped(
    raw_file: RawFactory, deps: Deps, fake_bus: FakeBus, data_dir: DataDir
) -> None:
    """The name a file was dropped as names its record, its event and its report entry.

    A record of the file under another name is replaced. Processed again by a command (no name
    in it), the name comes from ``meta.json``, and the record goes once the file is fixed.
    """
    raw = raw_file(b'[{"make": "Ford", ')
    unnamed = data_dir.root / f"failed/{DAY}/file_errors/vehicles/drop_001.json"
    unnamed.parent.mkdir(parents=True)
    unnamed.write_bytes(b"{}")  # the record of an earlier rejection, named without the name
    event = _collected().model_copy(update={"original_name": "broken.json"})
    await handle_file_collected(event, deps)
    assert not unnamed.exists()
    (published,) = fake_bus.published
    assert isinstance(published, FileRejected)
    assert published.original_name == "broken.json"
    assert published.error_file == f"failed/{DAY}/file_errors/vehicles/drop_001.broken.json"
    record = orjson.loads((data_dir.root / published.error_file).read_bytes())
    assert record["original_name"] == "broken.json"
    assert record["raw_file"] == RAW
    report = orjson.loads((data_dir.root / f"processed/{DAY}/processing_report.json").read_bytes())
    assert report["files"][RAW]["original_name"] == "broken.json"

    entry = {"file": raw.name, "original_name": "broken.json", "source": "drop"}
    (raw.parent / "meta.json").write_bytes(orjson.dumps({"files": [entry]}))
    raw.write_bytes(orjson.dumps([vehicle()]))
    await handle_process_file(ProcessFile(path=RAW, event_id=uuid.uuid4()), deps)
    processed = fake_bus.published[-1]
    assert isinstance(processed, BatchProcessed)
    assert processed.original_name == "broken.json"
    assert not (data_dir.root / published.error_file).exists()


@pytest.mark.parametrize(
    "path",
    ["raw/../../etc/passwd", "/etc/passwd", f"processed/{DAY}/vehicles/drop_001.jsonl"],
)
async def test_paths_outside_raw_are_refused(deps: Deps, fake_bus: FakeBus, path: str) -> None:
    """A path that leaves raw/ is bad input (dead-lettered), and nothing is published."""
    with pytest.raises(BadInputError, match="outside"):
        await handle_process_file(ProcessFile(path=path), deps)
    assert fake_bus.published == []


async def test_missing_file_is_a_permanent_error(deps: Deps, fake_bus: FakeBus) -> None:
    """A command naming a file that does not exist fails permanently with a clear message."""
    with pytest.raises(PermanentError, match="does not exist"):
        await handle_process_file(ProcessFile(path=RAW), deps)
    assert fake_bus.published == []


async def test_type_cannot_be_inferred_outside_a_type_folder(deps: Deps, data_dir: DataDir) -> None:
    """A raw file not inside raw/DATE/{type}/ needs an explicit record type."""
    stray = data_dir.root / "raw" / DAY / "stray.json"
    stray.parent.mkdir(parents=True)
    stray.write_bytes(b"[]")
    with pytest.raises(BadInputError, match="cannot infer the record type"):
        await handle_process_file(ProcessFile(path=f"raw/{DAY}/stray.json"), deps)
