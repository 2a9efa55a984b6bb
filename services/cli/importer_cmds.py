"""``pipeline`` commands of the importer: import a day, re-drive failures, search."""

from __future__ import annotations

import asyncio
import contextlib
import sys
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from typing import Any

import click

from services.cli.car_cmds import listing_line, money
from services.cli.common import run_async
from services.importer import cars, redrive
from services.importer.batches import Deps, ImportRequest, Publisher, import_batch
from services.importer.config import ImporterSettings
from services.importer.files import processed_files, request_for_file
from services.importer.redrive import Redriven
from services.importer.search import search as run_search
from shared.bus import connect
from shared.db import connect_once, create_pool
from shared.errors import ServiceError
from shared.events import BatchImported, Event, ImportProgress, RecordType
from shared.lifecycle import load_settings
from shared.storage import DataDir

CLI_NAME = "pipeline-cli"
_DATE = click.DateTime(["%Y-%m-%d"])
CARS_FANOUT = 5  # listings read per car shown: a car listed on several sites is shown once


class NoBus:
    """A publisher that drops events (``--no-events``: no NATS needed)."""

    async def publish(self, event: Event) -> None:
        """Drop the event."""


def _settings() -> ImporterSettings:
    return load_settings(ImporterSettings, "pipeline")


def _day(value: datetime | None) -> date:
    return value.date() if value is not None else datetime.now(UTC).date()


@contextlib.asynccontextmanager
async def _deps(settings: ImporterSettings, *, events: bool) -> AsyncIterator[Deps]:
    """Open the pool (and the bus unless ``events`` is False) for an in-process import."""
    async with contextlib.AsyncExitStack() as stack:
        pool = await stack.enter_async_context(
            create_pool(settings.database_url, max_size=2, application_name="pipeline-cli")
        )
        bus: Publisher = NoBus()
        if events:
            bus = await stack.enter_async_context(connect(settings, CLI_NAME))
        data_dir = DataDir(settings.data_dir)
        yield Deps(pool=pool, bus=bus, data_dir=data_dir, chunk_size=settings.chunk_size)


# ---- pipeline import ----------------------------------------------------------------------------


def _paths(data_dir: DataDir, day: date, paths: tuple[str, ...]) -> list[str]:
    """Return the given paths (relative to DATA_DIR, or absolute), or the day's processed files."""
    if paths:
        return list(paths)
    return [data_dir.relative(p) for p in processed_files(data_dir, day)]


async def _import_one(deps: Deps, relative: str) -> BatchImported:
    """Import one file with a progress bar on the terminal."""
    trigger = f"cli-{uuid.uuid4()}"
    request: ImportRequest = await asyncio.to_thread(
        request_for_file, deps.data_dir, relative, trigger
    )
    with click.progressbar(
        length=request.rows_expected or 0, label=relative, file=sys.stderr
    ) as bar:
        done = [0]

        def advance(progress: ImportProgress) -> None:
            bar.update(progress.rows_done - done[0])
            done[0] = progress.rows_done

        return await import_batch(request, deps, advance)


@click.command("import")
@click.option("--date", "day", type=_DATE, help="Day of processed/DATE/ to load; default today.")
@click.option("--no-events", is_flag=True, help="Do not publish progress and BatchImported.")
@click.argument("paths", nargs=-1)
def import_(day: datetime | None, no_events: bool, paths: tuple[str, ...]) -> None:
    """Load processed files into PostgreSQL in this process.

    A day's files, or PATHs under processed/, with a progress bar.

    Exits 1 if a file cannot be loaded or a row is refused (see failed/DATE/import_errors).

    \b
    Example:
      pipeline import --date 2026-11-29
      pipeline import --no-events processed/2026-11-29/vehicles/drop_001.jsonl
    """
    settings = _settings()

    async def run() -> int:
        failures = 0
        async with _deps(settings, events=not no_events) as deps:
            relatives = _paths(deps.data_dir, _day(day), paths)
            if not relatives:
                click.echo("no processed files to import")
            for relative in relatives:
                try:
                    done = await _import_one(deps, relative)
                except ServiceError as exc:
                    click.echo(f"FAILED {relative}: {exc}", err=True)
                    failures += 1
                    continue
                failures += 1 if done.failed else 0
                click.echo(
                    f"{relative}: {done.rows_total} rows, {done.inserted} inserted, "
                    f"{done.updated} updated, {done.unchanged} unchanged, {done.failed} failed "
                    f"({done.chunks} chunks, {done.duration_s}s)"
                )
        return failures

    sys.exit(1 if run_async(run()) else 0)


# ---- pipeline retry-failed ----------------------------------------------------------------------


@click.command("retry-failed")
@click.option("--date", "day", type=_DATE, help="Day of failed/DATE/; default today.")
@click.option(
    "--stage",
    type=click.Choice(["import", "validation"]),
    help="Only this stage (default: both).",
)
def retry_failed(day: datetime | None, stage: str | None) -> None:
    """Re-drive failed records after a fix.

    Refused rows and queued batches (import), or invalid raw records (validation).

    Exits 1 if something still fails after the re-drive.

    \b
    Example:
      pipeline retry-failed --date 2026-11-29 --stage import
    """
    settings = _settings()
    when = _day(day)

    async def run() -> Redriven:
        report = Redriven()
        async with _deps(settings, events=True) as deps:
            if stage in (None, "import"):
                await redrive.redrive_rows(deps, when, report)
                await redrive.redrive_queue(deps, when, report)
            if stage in (None, "validation"):
                await redrive.redrive_validation(deps.bus, deps.data_dir, when, report)
        return report

    report = run_async(run())
    click.echo(
        f"{when}: rows re-loaded {report.rows_loaded}, still failing {report.rows_still_failing}; "
        f"batches re-loaded {len(report.batches_loaded)}, "
        f"requeued {len(report.batches_requeued)}; "
        f"raw files sent to processing {len(report.files_requested)}"
    )
    for name in report.batches_loaded:
        click.echo(f"  loaded batch {name}")
    for name in report.batches_requeued:
        click.echo(f"  requeued batch {name}")
    for raw_file in report.files_requested:
        click.echo(f"  reprocess {raw_file}")
    sys.exit(1 if report.rows_still_failing or report.batches_requeued else 0)


# ---- pipeline search ----------------------------------------------------------------------------


@click.command("search")
@click.argument("query")
@click.option(
    "--type",
    "record_type",
    type=click.Choice([t.value for t in RecordType]),
    default=RecordType.VEHICLES.value,
    show_default=True,
)
@click.option("--limit", type=click.IntRange(1, 500), default=10, show_default=True)
@click.option("--listings", is_flag=True, help="Vehicles: show each car's listings under it.")
def search(query: str, record_type: str, limit: int, listings: bool) -> None:
    """Full-text search: the best matches for QUERY first.

    Typos are tolerated; --type picks vehicles, events or articles. Vehicles are shown as cars,
    once each (its listings on every site linked as one car), with how many sites list it and
    its lowest current price; `pipeline car ID` tells its story.

    \b
    Example:
      pipeline search "69 camero"
      pipeline search "chevelle ss" --listings
      pipeline search "pebble beach" --type events --limit 5
    """
    settings = _settings()
    kind = RecordType(record_type)
    if kind is RecordType.VEHICLES:
        found = run_async(_car_search(settings, query, limit, listings))
        if not found:
            click.echo("no match")
        for number, (row, summary, car) in enumerate(found, start=1):
            click.echo(f"{number:>3}. {render_car(row, summary)}  [{row['rank']}]")
            for item in car["listings"] if car else []:
                click.echo(f"       {listing_line(item)}")
        return

    async def run() -> list[dict[str, object]]:
        conn = await connect_once(settings.database_url)
        try:
            return await run_search(conn, query, kind, limit)
        finally:
            await conn.close()

    rows = run_async(run())
    if not rows:
        click.echo("no match")
        return
    for number, row in enumerate(rows, start=1):
        click.echo(f"{number:>3}. {render(kind, row)}  [{row['rank']}]")


CarHit = tuple[dict[str, Any], dict[str, Any], dict[str, Any] | None]


async def _car_search(
    settings: ImporterSettings, query: str, limit: int, listings: bool
) -> list[CarHit]:
    """Return up to ``limit`` cars, best first: (best listing, car summary, car if listings)."""
    conn = await connect_once(settings.database_url)
    try:
        rows = await run_search(conn, query, RecordType.VEHICLES, limit * CARS_FANOUT)
        summaries = await cars.summaries(conn, [int(str(row["id"])) for row in rows])
        hits: dict[int, CarHit] = {}
        for row in rows:
            summary = summaries.get(int(str(row["id"])))
            if summary is None or summary["car_id"] in hits:
                continue  # another listing of a car already shown (ranked higher)
            hits[summary["car_id"]] = (row, summary, None)
            if len(hits) == limit:
                break
        if listings:
            for car_id, (row, summary, _) in hits.items():
                hits[car_id] = (row, summary, await cars.load(conn, summary["car_hash"]))
        return list(hits.values())
    finally:
        await conn.close()


def render_car(row: dict[str, Any], summary: dict[str, Any]) -> str:
    """Return one car of the search as a line: what, lowest current price, place, sites, id."""
    place = ", ".join(str(p) for p in (row.get("location_city"), row.get("location_state")) if p)
    parts = [
        f"{row['year']} {row['make']} {row['model']}",
        money(summary["lowest_price"]),
        place,
        f"{summary['sites']} site(s)",
        f"car {summary['car_id']}",
    ]
    return "  ".join(part for part in parts if part)


def render(record_type: RecordType, row: dict[str, object]) -> str:
    """Return one event or article found as a line of text (vehicles: ``render_car``)."""
    if record_type is RecordType.EVENTS:
        return f"{row['start_date']}  {row['name']}  {row.get('city') or ''}".rstrip()
    return f"{row.get('published_date') or '-'}  {row['title']}  {row.get('url') or ''}".rstrip()


COMMANDS: list[click.Command] = [import_, retry_failed, search]
