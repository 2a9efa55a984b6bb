"""``pipeline`` commands that drive the collector: scrape, process, full, backfill.

``pipeline process PATH`` publishes a ``ProcessFile`` command directly; the others are NATS
requests to a running collector (``rpc.<ns>.<name>``). Exit status: 0 when it worked, 1 when the
collector answered with errors, 2 when no collector answers or the configuration is unusable.
"""

from __future__ import annotations

import sys
from datetime import date, datetime, timedelta
from typing import Any

import click
import nats.errors
import orjson

from services.cli import outcomes
from services.cli.common import run_async, settings_or_exit
from shared.bus import Bus, connect
from shared.events import ProcessFile, RecordType
from shared.settings import PipelineSettings

TYPES = [t.value for t in RecordType]
DATE = click.DateTime(["%Y-%m-%d"])


async def _ask(bus: Bus, name: str, body: dict[str, Any], timeout_s: float) -> dict[str, Any]:
    subject = bus.names.rpc(name)
    try:
        msg = await bus.nc.request(subject, orjson.dumps(body), timeout=timeout_s)
    except nats.errors.NoRespondersError:
        return {"ok": False, "error": f"no collector answers on {subject}", "exit": 2}
    except (nats.errors.TimeoutError, TimeoutError):
        return {"ok": False, "error": f"no reply on {subject} within {timeout_s}s", "exit": 2}
    reply = orjson.loads(msg.data)
    return reply if isinstance(reply, dict) else {"ok": False, "error": "malformed reply"}


async def _request(
    settings: PipelineSettings, name: str, body: dict[str, Any], timeout_s: float
) -> dict[str, Any]:
    async with connect(settings, "pipeline-cli") as bus:
        return await _ask(bus, name, body, timeout_s)


async def _scrape(
    settings: PipelineSettings, body: dict[str, Any], timeout_s: float, wait_s: float
) -> dict[str, Any]:
    """Ask for a scrape, then wait up to ``wait_s`` for the processor's outcome of its files."""
    async with connect(settings, "pipeline-cli") as bus, outcomes.listening(bus) as seen:
        reply = await _ask(bus, "scrape", body, timeout_s)
        if reply.get("ok") and wait_s > 0:
            files = [path for run in reply["runs"] for path in run["files"]]
            found = await seen.wait_for(files, wait_s)
            reply["processing"] = {
                "waited_s": wait_s,
                "files": {path: outcome.as_dict() for path, outcome in found.items()},
            }
    return reply


def request(name: str, body: dict[str, Any], timeout_s: float) -> dict[str, Any]:
    """Send one trigger to the collector and return its reply (with ``ok``)."""
    settings = settings_or_exit()
    return run_async(_request(settings, name, body, timeout_s))


def _finish(reply: dict[str, Any], as_json: bool) -> None:
    """Print a reply and exit with its status."""
    if as_json:
        click.echo(orjson.dumps(reply, option=orjson.OPT_INDENT_2).decode())
    if not reply.get("ok"):
        click.echo(f"pipeline: {reply.get('error')}", err=True)
        sys.exit(int(reply.get("exit", 1)))
    if reply.get("errors"):
        sys.exit(1)


def _print_runs(runs: list[dict[str, Any]], processing: dict[str, Any] | None = None) -> None:
    for run in runs:
        state = run.get("skipped") or f"{run['records']} records in {len(run['files'])} file(s)"
        if processing is not None and not run.get("skipped"):
            state += _counts(run["files"], processing)
        click.echo(f"  {run['provider']:<11} {run['query'][:50]:<50} {state}")
        for error in run.get("errors", []):
            click.echo(f"    error: {error}")
        if processing is not None:
            for path in run["files"]:
                _print_refusals(processing["files"].get(path))


def _counts(files: list[str], processing: dict[str, Any]) -> str:
    """Return ": N valid, M refused" over ``files``, and how many have no outcome yet."""
    done = [processing["files"][path] for path in files if path in processing["files"]]
    pending = len(files) - len(done)
    valid = sum(outcome["valid"] for outcome in done)
    refused = sum(outcome["refused"] for outcome in done if not outcome["rejected"])
    text = f": {valid} valid, {refused} refused"
    rejected = sum(1 for outcome in done if outcome["rejected"])
    if rejected:
        text += f", {rejected} file(s) rejected"
    if pending:
        text += f", {pending} file(s) not processed within {processing['waited_s']:g}s"
    return text


def _print_refusals(outcome: dict[str, Any] | None) -> None:
    if outcome is None:
        return
    if outcome["rejected"]:
        click.echo(f"    file rejected: {outcome['rejected']}")
    for reason, count in sorted(outcome["reasons"].items(), key=lambda item: -item[1]):
        click.echo(f"    refused {count}: {reason}")
    if outcome["failed_path"] and (outcome["refused"] or outcome["rejected"]):
        click.echo(f"    kept with their reasons in {outcome['failed_path']}")


@click.command("scrape")
@click.argument("record_type", type=click.Choice(TYPES))
@click.option("--provider", help="Only this provider (apify, brave, tavily, perplexity, ...).")
@click.option("--timeout", "timeout_s", default=900.0, show_default=True, help="Seconds.")
@click.option(
    "--wait",
    "wait_s",
    default=120.0,
    show_default=True,
    help="Seconds to wait for the processor's valid and refused counts (0: do not wait).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the collector's reply as JSON.")
def scrape(
    record_type: str, provider: str | None, timeout_s: float, wait_s: float, as_json: bool
) -> None:
    """Collect a record type now; count valid and refused records.

    Uses its configured providers; needs the collector running, and the processor for the
    valid and refused counts (refused records are listed with their reasons).

    \b
    Example:
      pipeline scrape events --provider brave
    """
    body = {"type": record_type, "provider": provider}
    reply = run_async(_scrape(settings_or_exit(), body, timeout_s, wait_s))
    if reply.get("ok") and not as_json:
        processing = reply.get("processing")
        head = f"{record_type}: {reply['records']} records collected in {reply['files']} file(s)"
        files = [path for run in reply["runs"] for path in run["files"]]
        click.echo(head + (_counts(files, processing) if processing else ""))
        _print_runs(reply["runs"], processing)
    _finish(reply, as_json)


@click.command("process")
@click.argument("path", required=False)
@click.option("--type", "record_type", type=click.Choice(TYPES))
@click.option("--date", "day", type=DATE, help="Process every raw file of this day instead.")
def process(path: str | None, record_type: str | None, day: datetime | None) -> None:
    """Re-process a raw file, or every raw file of a day.

    PATH is relative to DATA_DIR and lies under raw/; needs the services running.

    \b
    Example:
      pipeline process raw/2026-11-29/vehicles/drop_001.json
      pipeline process --date 2026-11-29
    """
    if (path is None) == (day is None):
        raise click.UsageError("give either PATH or --date")
    if day is not None:
        reply = request("process_date", {"date": day.date().isoformat()}, 60.0)
        if reply.get("ok"):
            click.echo(f"requested processing of {len(reply['process_requested'])} file(s)")
        _finish(reply, False)
        return
    settings = settings_or_exit()

    async def publish() -> None:
        async with connect(settings, "pipeline-cli") as bus:
            command = ProcessFile(
                path=str(path), record_type=RecordType(record_type) if record_type else None
            )
            await bus.publish(command)
        click.echo(f"requested processing of {path} (event {command.event_id})")

    run_async(publish())


@click.command("full")
@click.option("--provider", help="Only this provider.")
@click.option("--timeout", "timeout_s", default=1800.0, show_default=True, help="Seconds.")
@click.option("--json", "as_json", is_flag=True, help="Print the collector's reply as JSON.")
def full(provider: str | None, timeout_s: float, as_json: bool) -> None:
    """Scrape every record type now; processing and import follow.

    Processing and import follow through the event chain; needs the services running.

    \b
    Example:
      pipeline full --provider apify
    """
    reply = request("full", {"provider": provider}, timeout_s)
    if reply.get("ok") and not as_json:
        for scraped in reply["scraped"]:
            click.echo(f"{scraped['record_type']}: {scraped['records']} records")
            _print_runs(scraped["runs"])
    _finish(reply, as_json)


def _days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


@click.command("backfill")
@click.option("--from", "start", type=DATE, required=True, help="First day (YYYY-MM-DD).")
@click.option("--to", "end", type=DATE, required=True, help="Last day (YYYY-MM-DD).")
@click.option("--timeout", "timeout_s", default=120.0, show_default=True, help="Seconds per day.")
def backfill(start: datetime, end: datetime, timeout_s: float) -> None:
    """Process and import every day of a date range.

    Archived days are read from their archive; needs the services running.

    \b
    Example:
      pipeline backfill --from 2026-11-01 --to 2026-11-07
    """
    if end < start:
        raise click.UsageError("--to is before --from")
    days = _days(start.date(), end.date())
    totals = {"process": 0, "import": 0}
    failed: list[str] = []
    with click.progressbar(days, label="backfill", item_show_func=lambda d: str(d or "")) as bar:
        for day in bar:
            reply = request("backfill", {"from": day.isoformat(), "to": day.isoformat()}, timeout_s)
            if not reply.get("ok"):
                failed.append(f"{day}: {reply.get('error')}")
                if reply.get("exit") == 2:
                    break
                continue
            for counts in reply["days"].values():
                totals["process"] += counts["process"]
                totals["import"] += counts["import"]
    click.echo(
        f"{len(days)} day(s): {totals['process']} file(s) sent to processing, "
        f"{totals['import']} to import"
    )
    for line in failed:
        click.echo(f"pipeline: {line}", err=True)
    if failed:
        sys.exit(2 if any("no collector" in f or "no reply" in f for f in failed) else 1)


COMMANDS: list[click.Command] = [scrape, process, full, backfill]
