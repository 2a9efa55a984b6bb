"""``pipeline check``: what a drop of a file would give, without loading or moving anything."""

from __future__ import annotations

from pathlib import Path

import orjson
from click.testing import CliRunner

from services.cli import main

RECORDS = [
    {"make": "Chevy", "model": "Chevelle SS", "year": 1970, "price": "$45,000",
     "sourceName": "dealer", "stockNumber": "C-1"},
    {"make": "Jaguar", "model": "E-Type", "year": 1963, "price": "\u00a395,000",
     "sourceName": "dealer", "stockNumber": "J-2"},
    {"make": "Ford", "model": "Mustang", "year": 1910, "price": 38000, "sourceName": "dealer",
     "stockNumber": "F-3"},
]  # fmt: skip


def _drop(tmp_path: Path, folder: str = "vehicles", content: bytes | None = None) -> Path:
    path = tmp_path / folder / "cars.json"
    path.parent.mkdir()
    path.write_bytes(orjson.dumps(RECORDS) if content is None else content)
    return path


def test_a_file_is_checked_with_its_counts_reasons_repairs_and_failures(tmp_path: Path) -> None:
    """The record type comes from the folder; the file stays as it was, alone in its folder."""
    path = _drop(tmp_path)
    before = path.read_bytes()
    result = CliRunner().invoke(main, ["check", str(path)])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        "cars.json: vehicles, source drop",
        "records 3  valid 1  invalid 2  duplicates in the file 0  pass rate 33.3%",
        "failures by reason: business_rule:year 1, source:price:currency 1",
        "repairs: make_alias 1, price_text 1",
        "  position 1: price source_currency: the price is in \u00a3, not US dollars: "
        "prices are not converted",
        "  position 2: year business_rule: year must be 1920 or later",
    ]
    assert path.read_bytes() == before
    assert [p.name for p in path.parent.iterdir()] == ["cars.json"]


def test_strict_fails_on_an_invalid_record_and_show_limits_the_list(tmp_path: Path) -> None:
    """``--strict`` exits 1 when a record fails; ``--show 0`` prints no failed record."""
    path = _drop(tmp_path, folder="anywhere")
    args = ["check", str(path), "--type", "vehicles", "--source", "dealer", "--show", "0"]
    result = CliRunner().invoke(main, [*args, "--strict"])
    assert result.exit_code == 1
    assert result.output.splitlines()[0] == "cars.json: vehicles, source dealer"
    assert not any(line.startswith("  position") for line in result.output.splitlines())


def test_an_unreadable_file_says_why_and_fails(tmp_path: Path) -> None:
    """A file the processor would reject gives its reason and exit code 1."""
    path = _drop(tmp_path, content=b'{"items": [')
    result = CliRunner().invoke(main, ["check", str(path)])
    assert result.exit_code == 1
    assert "unreadable: " in result.output
    assert "(nothing would be loaded)" in result.output


def test_the_record_type_is_asked_for_when_the_folder_does_not_tell(tmp_path: Path) -> None:
    """A file outside a type's folder needs ``--type``: a usage error says so."""
    path = _drop(tmp_path, folder="downloads")
    result = CliRunner().invoke(main, ["check", str(path)])
    assert result.exit_code == 2
    assert "give --type" in result.output


def test_the_json_format_has_the_report_entry_and_the_failed_records(tmp_path: Path) -> None:
    """For scripts: the counts and reasons as the day's report has them, no temporary paths."""
    path = _drop(tmp_path)
    result = CliRunner().invoke(main, ["check", str(path), "--format", "json", "--show", "1"])
    assert result.exit_code == 0, result.output
    entry = orjson.loads(result.output)
    assert (entry["raw_file"], entry["status"]) == (str(path), "processed")
    assert (entry["records_read"], entry["records_valid"], entry["records_invalid"]) == (3, 1, 2)
    assert entry["errors_by_reason"] == {"source:price:currency": 1, "business_rule:year": 1}
    assert entry["repairs_by_rule"] == {"make_alias": 1, "price_text": 1}
    assert [(f["position"], f["errors"][0]["rule"]) for f in entry["failed"]] == [
        (1, "source_currency")
    ]
    assert "raw_file" not in entry["failed"][0]
    assert not {"batch_id", "processed_path", "failed_path", "error_file"} & set(entry)
