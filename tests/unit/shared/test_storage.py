"""Storage: atomic writes, no-clobber moves, path safety and date folders."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
import structlog

from shared import storage
from shared.errors import BadInputError
from shared.events import RecordType
from shared.storage import (
    DataDir,
    atomic_writer,
    day_of,
    is_temporary,
    move_no_clobber,
    sha256_file,
    update_json,
    write_json_atomic,
)


def test_atomic_writer_leaves_nothing_behind_on_error(tmp_path: Path) -> None:
    """A failed write neither creates the target nor leaves a temporary file."""
    target = tmp_path / "out.json"

    def write_then_fail() -> None:
        with atomic_writer(target) as handle:
            handle.write(b"partial")
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        write_then_fail()
    assert list(tmp_path.iterdir()) == []


def test_atomic_writer_replaces_content_whole(tmp_path: Path) -> None:
    """A successful write makes the new content visible under the final name."""
    target = tmp_path / "out.json"
    target.write_bytes(b"old")
    with atomic_writer(target) as handle:
        handle.write(b"new")
    assert target.read_bytes() == b"new"
    assert [p.name for p in tmp_path.iterdir()] == ["out.json"]


def test_move_no_clobber_numbers_files_in_sequence(tmp_path: Path) -> None:
    """Moved files get the next free number and never overwrite an existing one."""
    folder = tmp_path / "raw"
    names = []
    for index in range(3):
        src = tmp_path / f"in{index}.json"
        src.write_text(str(index))
        names.append(move_no_clobber(src, folder, lambda n: f"drop_{n:03d}.json").name)
    assert names == ["drop_001.json", "drop_002.json", "drop_003.json"]
    assert (folder / "drop_002.json").read_text() == "1"
    assert not list(tmp_path.glob("in*.json"))


def test_resolve_refuses_paths_outside_the_data_folder(tmp_path: Path) -> None:
    """Relative escapes and foreign absolute paths are bad input."""
    data = DataDir(tmp_path)
    assert data.resolve("raw/2026-01-01/x.json", under="raw") == tmp_path / "raw/2026-01-01/x.json"
    for bad in ("../etc/passwd", "/etc/passwd", "processed/../../x", "processed/x.jsonl"):
        with pytest.raises(BadInputError):
            data.resolve(bad, under="raw")


def test_day_of_reads_the_date_folder(tmp_path: Path) -> None:
    """The date of a file is the YYYY-MM-DD folder it lies in."""
    assert day_of(tmp_path / "raw/2026-11-29/vehicles/drop_001.json") == date(2026, 11, 29)
    with pytest.raises(BadInputError):
        day_of(tmp_path / "raw/vehicles/drop_001.json")


@pytest.mark.parametrize(
    ("name", "temporary"),
    [
        (".hidden.json", True),
        ("x.json.tmp", True),
        ("x.part", True),
        ("x.json.partial", True),
        ("x.json.crdownload", True),
        (".x.json.swp", True),
        ("x.swp", True),
        ("x.json~", True),
        ("~lock.json", True),
        ("cars.json", False),
        ("cars.jsonl", False),
    ],
)
def test_is_temporary(name: str, temporary: bool) -> None:
    """Dot files and the usual in-progress suffixes are recognised as temporary."""
    assert is_temporary(Path(name)) is temporary


def test_update_json_and_layout(tmp_path: Path) -> None:
    """update_json applies a change atomically; ensure_layout creates the inboxes."""
    data = DataDir(tmp_path)
    data.ensure_layout()
    assert all(data.inbox(t).is_dir() for t in RecordType)
    path = tmp_path / "meta.json"
    update_json(path, lambda d: {**d, "a": 1}, {})
    result = update_json(path, lambda d: {**d, "b": 2}, {})
    assert result == {"a": 1, "b": 2}


def test_sha256_file_matches_hashlib(tmp_path: Path) -> None:
    """The chunked hash equals the one-shot hash."""
    import hashlib

    path = tmp_path / "f.bin"
    path.write_bytes(b"x" * 3_000_000)
    assert sha256_file(path, chunk_bytes=1 << 16) == hashlib.sha256(b"x" * 3_000_000).hexdigest()


@pytest.mark.parametrize(
    ("dropped", "expected"),
    [
        ("broken.json", "drop_004.broken.json"),
        ("../../etc/passwd.json", "drop_004.passwd.json"),
        ("voitures été (2).json", "drop_004.voitures_t_2.json"),
        ("my.cars.jsonl", "drop_004.my_cars.json"),
        ("x" * 300 + ".json", "drop_004." + "x" * 60 + ".json"),
        ("%%%.json", "drop_004.json"),
        ("XK120.json", "drop_004.XK120.json"),
        ("._cars_.json", "drop_004.cars.json"),
        ("drop_004.json", "drop_004.json"),
        (None, "drop_004.json"),
    ],
)
def test_a_rejected_file_record_carries_the_dropped_name_safely(
    tmp_path: Path, dropped: str | None, expected: str
) -> None:
    """The record is named ``{raw stem}.{dropped name}.json``: one folder, safe characters."""
    data = DataDir(tmp_path)
    day = date(2026, 6, 1)
    path = data.file_error(day, RecordType.VEHICLES, "drop_004", dropped)
    assert path.parent == tmp_path / "failed" / "2026-06-01" / "file_errors" / "vehicles"
    assert path.name == expected


def test_file_errors_of_finds_a_raw_file_s_records_and_no_other(tmp_path: Path) -> None:
    """Both namings are found for the raw stem; a longer stem sharing its start is not."""
    data = DataDir(tmp_path)
    day = date(2026, 6, 1)
    named = data.file_error(day, RecordType.VEHICLES, "drop_004", "broken.json")
    other = data.file_error(day, RecordType.VEHICLES, "drop_0040", "x.json")
    for path in (named, other):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("{}")
    assert data.file_errors_of(day, RecordType.VEHICLES, "drop_004") == [named]
    assert data.file_errors_of(day, RecordType.VEHICLES, "drop_005") == []


def test_atomic_writer_gives_files_the_mode_of_the_umask(tmp_path: Path) -> None:
    """Under umask 002 (the image's default) an atomically written file is 0664, not mkstemp's
    0600: the group that shares the data folder can read it."""
    target = tmp_path / "out.json"
    script = (
        "import sys; from pathlib import Path; from shared.storage import write_json_atomic; "
        "write_json_atomic(Path(sys.argv[1]), {'a': 1})"
    )
    subprocess.run(
        [sys.executable, "-c", script, str(target)],
        check=True,
        preexec_fn=lambda: os.umask(0o002),
        cwd=Path(__file__).resolve().parents[3],
    )
    assert stat.S_IMODE(target.stat().st_mode) == 0o664


def test_the_layout_is_the_seed_s(tmp_path: Path) -> None:
    """Each folder of the data folder is where the seed puts it."""
    data = DataDir(tmp_path)
    day, kind = date(2026, 6, 1), RecordType.EVENTS
    assert data.inbox(kind) == tmp_path / "inbox" / "events"
    assert data.raw(day, kind) == tmp_path / "raw" / "2026-06-01" / "events"
    assert data.processed(day, kind) == tmp_path / "processed" / "2026-06-01" / "events"
    assert data.failed(day, "validation_errors") == tmp_path / "failed/2026-06-01/validation_errors"
    assert data.relative(tmp_path / "raw" / "x.json") == "raw/x.json"


def test_ensure_layout_makes_every_folder_and_may_run_again(tmp_path: Path) -> None:
    """It creates the folders under a root not yet there, returns True, and again on a rerun."""
    data = DataDir(tmp_path / "not" / "yet")
    assert data.ensure_layout() is True
    assert data.ensure_layout() is True  # every folder exists already
    made = sorted(p.relative_to(data.root).as_posix() for p in data.root.rglob("*"))
    inboxes = [f"inbox/{t.value}" for t in RecordType]
    assert made == sorted(["archive", "failed", "inbox", "processed", "raw", *inboxes])


def test_ensure_layout_on_an_unusable_folder_says_so_and_returns_false(tmp_path: Path) -> None:
    """A data folder that cannot hold folders (here: a file) is logged and reported, not raised."""
    (tmp_path / "data").write_text("a file where the folder should be")
    with structlog.testing.capture_logs() as logs:
        assert DataDir(tmp_path / "data").ensure_layout() is False
    (event,) = logs
    assert event["event"] == "data_dir.unwritable"
    assert event["root"] == str(tmp_path / "data")
    assert "Error" in event["error"]


def test_resolve_without_under_and_messages(tmp_path: Path) -> None:
    """Without ``under`` any path inside the data folder resolves; errors name the path."""
    data = DataDir(tmp_path)
    assert data.resolve("archive/x.json") == tmp_path / "archive/x.json"
    assert data.resolve(str(tmp_path / "raw/x.json")) == tmp_path / "raw/x.json"
    with pytest.raises(BadInputError, match=r"'\.\./x' is outside"):
        data.resolve("../x")
    with pytest.raises(BadInputError, match="is not inside a YYYY-MM-DD folder"):
        day_of(tmp_path / "raw/x.json")


def test_write_json_atomic_writes_indented_json(tmp_path: Path) -> None:
    """The file is the data as indented JSON (meta files are read by people too)."""
    target = tmp_path / "meta.json"
    write_json_atomic(target, {"a": [1]})
    assert target.read_text() == '{\n  "a": [\n    1\n  ]\n}'


def test_move_no_clobber_makes_the_folder_and_skips_a_name_taken_meanwhile(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A name another replica took after the count was read is skipped, the next one used."""
    folder = tmp_path / "raw" / "2026-06-01" / "vehicles"
    first = tmp_path / "a.json"
    first.write_text("a")
    assert move_no_clobber(first, folder, lambda n: f"drop_{n:03d}.json").name == "drop_001.json"
    # As if another replica had taken drop_001 after this one counted the folder.
    monkeypatch.setattr(storage, "_next_number", lambda _folder, _name_for: 1)
    points: list[str] = []
    monkeypatch.setattr(storage, "crash_point", points.append)
    second = tmp_path / "b.json"
    second.write_text("b")
    moved = move_no_clobber(second, folder, lambda n: f"drop_{n:03d}.json")
    assert moved.name == "drop_002.json"  # the next number, none skipped
    assert moved.read_text() == "b"
    assert (folder / "drop_001.json").read_text() == "a"
    assert points == ["storage.move_linked"]  # the crash point between link and unlink


@pytest.mark.parametrize(
    ("names", "suffix", "expected"),
    [
        ([], ".json", 1),
        (["drop_001.json", "drop_007.json", "drop_003.json"], ".json", 8),
        (["drop_001.json", "drop_x.json", "other_009.json", "drop_009.jsonl"], ".json", 2),
        (["drop_004", "drop_006.json", "drop_x"], "", 5),
    ],
)
def test_the_next_number_follows_the_highest_of_the_pattern(
    tmp_path: Path, names: list[str], suffix: str, expected: int
) -> None:
    """Only names of the pattern count (prefix, digits, suffix), the highest plus one."""
    for name in names:
        (tmp_path / name).write_text("")
    assert storage._next_number(tmp_path, lambda n: f"drop_{n:03d}{suffix}") == expected
