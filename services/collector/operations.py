"""What the collector can be asked to do, by a trigger or by the schedule.

Each operation returns JSON-ready data: the trigger reply, and what the schedule logs.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import structlog

from services.collector import archive, redrive, runs
from services.collector.runs import CollectDeps
from shared.events import RecordType

log = structlog.get_logger(__name__)

MAX_BACKFILL_DAYS = 3660


@dataclass
class Operations:
    """The collector's operations over its collection deps (data folder, publisher, clock)."""

    deps: CollectDeps
    retention_days: int = 30
    failed_retention_days: int = 90

    def _today(self) -> date:
        return self.deps.intake.clock().date()

    async def scrape(self, record_type: RecordType, provider: str | None = None) -> dict[str, Any]:
        """Run the jobs of a record type (optionally one provider)."""
        results = await runs.scrape(self.deps, record_type, provider)
        return {
            "record_type": record_type.value,
            "runs": [r.as_dict() for r in results],
            "files": sum(len(r.files) for r in results),
            "records": sum(r.records for r in results),
            "errors": sum(len(r.errors) for r in results),
        }

    async def full(self, provider: str | None = None) -> dict[str, Any]:
        """Scrape every record type; processing and import follow through the event chain."""
        scraped = [await self.scrape(record_type, provider) for record_type in RecordType]
        return {
            "scraped": scraped,
            "files": sum(s["files"] for s in scraped),
            "errors": sum(s["errors"] for s in scraped),
        }

    async def process_date(self, day: date) -> dict[str, Any]:
        """Publish ``ProcessFile`` for each raw file of a day."""
        files = await redrive.process_date(self.deps.intake.data, self.deps.intake.publish, day)
        return {"date": day.isoformat(), "process_requested": files}

    async def import_date(self, day: date) -> dict[str, Any]:
        """Publish ``ImportFile`` for each processed file of a day."""
        files = await redrive.import_date(self.deps.intake.data, self.deps.intake.publish, day)
        return {"date": day.isoformat(), "import_requested": files}

    async def backfill(self, first: date, last: date) -> dict[str, Any]:
        """Process and import each day of a range (archived days are restored first).

        Raises:
            ValueError: the range is reversed or longer than ``MAX_BACKFILL_DAYS``.
        """
        if last < first or (last - first).days >= MAX_BACKFILL_DAYS:
            msg = f"bad range {first}..{last} (at most {MAX_BACKFILL_DAYS} days, from <= to)"
            raise ValueError(msg)
        days = {}
        day = first
        while day <= last:
            processed = await self.process_date(day)
            imported = await self.import_date(day)
            days[day.isoformat()] = {
                "process": len(processed["process_requested"]),
                "import": len(imported["import_requested"]),
            }
            day += timedelta(days=1)
        return {"from": first.isoformat(), "to": last.isoformat(), "days": days}

    async def redrive_processing(self) -> dict[str, Any]:
        """Re-drive raw files of yesterday and today that have no processing outcome."""
        today = self._today()
        files = await redrive.redrive_processing(
            self.deps.intake.data, self.deps.intake.publish, [today - timedelta(days=1), today]
        )
        return {"process_requested": files}

    async def redrive_import(self) -> dict[str, Any]:
        """Re-drive the processed files of yesterday and today into the importer."""
        today = self._today()
        files = await redrive.redrive_import(
            self.deps.intake.data, self.deps.intake.publish, [today - timedelta(days=1), today]
        )
        return {"import_requested": files}

    async def cleanup(self) -> dict[str, Any]:
        """Archive old day folders and expired failed records."""
        report = await asyncio.to_thread(
            archive.cleanup,
            self.deps.intake.data,
            self._today(),
            self.retention_days,
            self.failed_retention_days,
        )
        log.info("cleanup.done", archived=report.archived, expired_failed=report.expired_failed)
        return {
            "archived": report.archived,
            "expired_failed": report.expired_failed,
            "errors": report.errors,
        }

    def schedule_actions(self) -> dict[str, Any]:
        """Return the schedule's job name -> action map."""
        return {
            "scrape_vehicles": lambda: self.scrape(RecordType.VEHICLES),
            "scrape_events": lambda: self.scrape(RecordType.EVENTS),
            "scrape_articles": lambda: self.scrape(RecordType.ARTICLES),
            "process_redrive": self.redrive_processing,
            "import_redrive": self.redrive_import,
            "cleanup": self.cleanup,
        }
