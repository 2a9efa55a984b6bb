"""Heartbeat registry, dead-letter stages and the report's added text lines."""

from __future__ import annotations

from datetime import UTC, datetime

from services.monitor.classify import dead_letter_stage
from services.monitor.health import Heartbeats
from services.monitor.report import render_text
from shared.events import Heartbeat
from tests.unit.monitor.test_report_text import _report

AT = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)


def _beat(service: str, instance: str) -> Heartbeat:
    return Heartbeat(
        service=service, instance=instance, started_at=AT, sent_at=AT, pipeline_version="0.1.0"
    )


def test_instance_is_stale_after_three_missed_heartbeats() -> None:
    """Silent for over three periods is stale; one live instance keeps a service healthy."""
    beats = Heartbeats(heartbeat_s=5)
    beats.note(_beat("importer", "a"), now=100.0)
    beats.note(_beat("importer", "b"), now=90.0)
    beats.note(_beat("processor", "c"), now=80.0)
    services = beats.services(now=106.0)
    assert services["importer"]["healthy"] is True
    assert [i["stale"] for i in services["importer"]["instances"]] == [False, True]
    assert services["processor"] == {
        "healthy": False,
        "instances": [
            {
                "instance": "c",
                "last_seen_s": 26.0,
                "sent_at": AT.isoformat(),
                "started_at": AT.isoformat(),
                "version": "0.1.0",
                "stale": True,
            }
        ],
    }


def test_long_silent_instances_are_forgotten() -> None:
    """An instance silent for over an hour disappears from the registry."""
    beats = Heartbeats(heartbeat_s=5)
    beats.note(_beat("collector", "old"), now=0.0)
    assert beats.services(now=4000.0) == {}


def test_dead_letter_stage_is_the_consumer_that_failed() -> None:
    """A dead letter is charged to the stage consuming its original subject."""
    assert dead_letter_stage("dlq.files.collected") == "processor"
    assert dead_letter_stage("dlq.records.processed") == "importer"
    assert dead_letter_stage("dlq.commands.import_file") == "importer"
    assert dead_letter_stage("dlq.something.else") == "other"


def test_render_text_adds_providers_duplicates_stage_errors_timing_and_quality() -> None:
    """The new report sections appear as extra lines after the seed's four sections."""
    report = _report()
    report["scraping"]["by_provider"] = {
        "apify": {"runs": 2, "records": 90, "requests": 10, "success_rate": 0.9,
                  "latency_ms_p50": 210.0},
    }  # fmt: skip
    report["duplicates"] = {"exact": 2, "near": 1, "near_links_imported": {}, "rate": 0.025}
    report["errors"]["by_stage"] = {"processor": {"file_rejected": 1}}
    report["timings"] = {
        "stages": {"processor": {"n": 3, "p50_s": 0.5, "p95_s": 1.25}},
        "end_to_end_s": {"batches": 3, "p50": 42.0, "p95": 90.5, "max": 91.0},
    }
    report["quality"] = [
        {"day": "2026-11-29", "source": "drop", "pass_rate": 0.9167, "duplicate_rate": 0.0164,
         "completeness": None},
    ]  # fmt: skip
    lines = render_text(report).splitlines()
    assert lines[6:] == [
        "  provider apify: 2 runs, 90 records, 10 requests (90.0% ok), p50 210 ms",
        "Duplicates   exact 2  near 1  rate 2.5%",
        "  processor errors: file_rejected 1",
        "Timing       processor p50 0.5s p95 1.25s  end-to-end p50 42s p95 90.5s",
        "  quality 2026-11-29 drop: pass 91.7%  duplicates 1.6%  complete n/a",
    ]
