"""What lies in inbox/ beside the record-type folders is reported once, never collected."""

from __future__ import annotations

from pathlib import Path

from structlog.testing import capture_logs

from services.collector.intake import STRAY_REASON, Strays
from shared.storage import DataDir


def test_entries_beside_the_record_type_folders_are_reported_once(tmp_path: Path) -> None:
    """A folder of an unknown type and a file one level too high are each logged once as
    ignored with the folders to use; the record-type folders are not; an entry removed and
    dropped again is reported again."""
    data = DataDir(tmp_path / "data")
    data.ensure_layout()
    inbox = data.root / "inbox"
    (inbox / "boats").mkdir()
    (inbox / "boats" / "boat.json").write_text("[]")
    (inbox / "cars.json").write_text("[]")
    strays = Strays(data)

    with capture_logs() as logs:
        first = strays.report()
        second = strays.report()
    assert first == [inbox / "boats", inbox / "cars.json"]
    assert second == []
    assert [(entry["event"], entry["log_level"], entry["path"]) for entry in logs] == [
        ("file.ignored", "warning", str(inbox / "boats")),
        ("file.ignored", "warning", str(inbox / "cars.json")),
    ]
    assert all(entry["reason"] == STRAY_REASON for entry in logs)
    assert "inbox/vehicles" in STRAY_REASON

    (inbox / "cars.json").unlink()
    assert strays.report() == []
    (inbox / "cars.json").write_text("[]")
    assert strays.report() == [inbox / "cars.json"]
    assert (inbox / "boats" / "boat.json").read_text() == "[]"  # left where it was


def test_an_unreadable_inbox_is_logged_not_raised(tmp_path: Path) -> None:
    """No inbox folder at all (a volume not mounted yet): one warning, nothing reported."""
    data = DataDir(tmp_path / "data")  # layout not made: inbox/ is missing
    with capture_logs() as logs:
        assert Strays(data).report() == []
    assert [entry["event"] for entry in logs] == ["inbox.unreadable"]
