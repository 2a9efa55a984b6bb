"""Plain-text rendering of the pipeline report, and the counters a tally moves."""

from __future__ import annotations

from typing import Any

import pytest

from services.monitor.http import parse_range
from services.monitor.metrics import PipelineMetrics, Tally
from services.monitor.report import render_text, scraping_section


def _report(**overrides: Any) -> dict[str, Any]:
    report: dict[str, Any] = {
        "date_from": "2026-11-29",
        "date_to": "2026-11-29",
        "scraping": {
            "files_collected": 3,
            "records_collected": 120,
            "by_source": {"drop": {"files": 3, "records": 120}},
            "by_record_type": {"vehicles": {"files": 3, "records": 120}},
            "requests": 50,
            "success_rate": 0.98,
            "avg_response_ms": 412.5,
        },
        "validation": {
            "batches": 3,
            "records_read": 120,
            "records_valid": 110,
            "records_invalid": 10,
            "duplicates_in_batch": 2,
            "pass_rate": 0.9167,
            "errors_by_reason": {"business_rule:price": 6, "missing:year": 4},
        },
        "import": {
            "batches": 3,
            "rows_total": 110,
            "inserted": 100,
            "updated": 5,
            "unchanged": 5,
            "failed": 0,
            "imported": 110,
            "imported_by_type": {"vehicles": 100, "events": 10, "articles": 0},
            "by_record_type": {},
        },
        "errors": {
            "total": 1,
            "files_rejected": 1,
            "rejected_by_stage": {"processor": 1},
            "dead_letters": 0,
            "dead_letters_by_subject": {},
            "import_failures": 0,
        },
    }
    report.update(overrides)
    return report


def test_render_text_matches_the_report_layout() -> None:
    """The text report has a title, four aligned sections and the reasons line."""
    assert render_text(_report()) == (
        "Pipeline report 2026-11-29\n"
        "Scraping     files 3  records 120  success rate 98.0%  avg response 412.5 ms"
        "   (drop: 3 files)\n"
        "Validation   validated 120  passed 110  failed 10  pass rate 91.7%  duplicates 2\n"
        "Import       imported 110 (vehicles 100, events 10, articles 0)  inserted 100  updated 5"
        "  unchanged 5  failed 0\n"
        "Errors       total 1  rejected files 1  dead letters 0  import errors 0\n"
        "  by reason: business_rule:price 6, missing:year 4"
    )


def test_render_text_lists_the_repairs_after_the_reasons() -> None:
    """The repairs made to the rows written get their own line, largest first as given."""
    report = _report()
    report["validation"]["repairs_by_rule"] = {"price_text": 3, "image_url_invalid": 1}
    assert render_text(report).endswith(
        "  by reason: business_rule:price 6, missing:year 4\n"
        "  repairs: price_text 3, image_url_invalid 1"
    )


def test_render_text_of_an_empty_range() -> None:
    """A range with nothing in it shows a date range, zeros, 'n/a' and no detail lines."""
    empty = _report(
        date_to="2026-11-30",
        scraping={"files_collected": 0, "records_collected": 0, "by_source": {}},
        validation={
            "records_read": 0,
            "records_valid": 0,
            "records_invalid": 0,
            "duplicates_in_batch": 0,
            "pass_rate": None,
            "errors_by_reason": {},
        },
        errors={
            "files_rejected": 0,
            "dead_letters": 2,
            "dead_letters_by_subject": {"records.processed": 2},
            "import_failures": 0,
        },
    )
    lines = render_text(empty).splitlines()
    assert lines[0] == "Pipeline report 2026-11-29 .. 2026-11-30"
    assert lines[1] == "Scraping     files 0  records 0"
    assert "pass rate n/a" in lines[2]
    assert lines[-1] == "  dead letters: records.processed 2"


def test_tally_moves_the_matching_counters() -> None:
    """A processed batch adds its counts to the labelled counters and to the event counter."""
    metrics = PipelineMetrics()
    sums = {"records_read": 5, "records_valid": 4, "records_invalid": 1, "duplicates_in_batch": 2}
    metrics.add(Tally("records.processed", "processor", "vehicles", "drop", 2, sums))
    metrics.add(Tally("dlq.records.imported", "dlq", None, None, 1))
    text = metrics.render().decode()
    labels = '{record_type="vehicles",source="drop"}'
    assert f"pipeline_records_read_total{labels} 5.0" in text
    assert f"pipeline_duplicates_total{labels} 2.0" in text
    assert f"pipeline_batches_processed_total{labels} 2.0" in text
    assert 'pipeline_dead_letters_total{subject="records.imported"} 1.0' in text


def test_parse_range_reads_date_or_from_to() -> None:
    """The report query takes one date or a from/to range, and refuses bad input."""
    assert [d.isoformat() for d in parse_range({"date": "2026-11-29"})] == ["2026-11-29"] * 2
    start, end = parse_range({"from": "2026-11-01", "to": "2026-11-29"})
    assert (start.day, end.day) == (1, 29)
    with pytest.raises(ValueError, match="YYYY-MM-DD"):
        parse_range({"date": "29/11/2026"})
    with pytest.raises(ValueError, match="after"):
        parse_range({"from": "2026-11-30", "to": "2026-11-29"})


def test_dropped_files_count_the_records_the_processor_read() -> None:
    """A dropped file has no record count when collected: its records are counted when read."""
    tallies = [
        Tally("files.collected", "collector", "vehicles", "drop", 2),
        Tally("files.collected", "collector", "vehicles", "apify", 1, {"record_count": 50}),
    ]
    read = {("drop", "vehicles"): 77, ("apify", "vehicles"): 50}
    section = scraping_section(tallies, read)
    assert section["records_collected"] == 127
    assert section["by_source"] == {
        "apify": {"files": 1, "records": 50},
        "drop": {"files": 2, "records": 77},
    }
    assert section["by_record_type"] == {"vehicles": {"files": 3, "records": 127}}
    assert section["counted_when_processed"] == ["drop"]
    text = render_text(_report(scraping=section))
    assert "records 127   (apify: 1 files, drop: 2 files (records counted when processed))" in text
