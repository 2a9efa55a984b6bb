"""Core ``pipeline`` commands: start the services, migrate the database, print the report."""

from __future__ import annotations

import sys
from datetime import UTC, date, datetime

import asyncpg
import click
import orjson

from services import localservers, runner
from services.cli.common import run_async, settings_or_exit
from services.cli.servers_cmds import or_exit
from shared.db import connect_once, ensure_database, migrate_as_owner
from shared.lifecycle import load_settings
from shared.logs import configure_logging
from shared.storage import DataDir


@click.command()
@click.option("--only", multiple=True, type=click.Choice(runner.SERVICES), help="Run only these.")
@click.option(
    "--create-database", is_flag=True, help="Create the database if missing and migrate it first."
)
def up(only: tuple[str, ...], create_database: bool) -> None:
    """Start the four services until Ctrl-C.

    They run as local processes until Ctrl-C or SIGTERM. Where PostgreSQL or NATS does not
    answer at its URL on this machine, a local one is started first from the project's wheels
    and stopped with the services (see `pipeline servers --help`).

    \b
    Example:
      pipeline up --create-database
      pipeline up --only collector --only processor
    """
    settings = settings_or_exit()  # fail fast, with one line, before starting anything
    DataDir(settings.data_dir).ensure_layout()  # the inboxes exist before anyone copies into them
    owner = settings.owner_database_url
    with or_exit(), localservers.running(owner.get_secret_value(), settings.nats_url):
        if create_database:
            _migrate(create_database=True)
        code = runner.run_all(only or runner.SERVICES)
    sys.exit(code)


@click.command()
@click.option("--create-database", is_flag=True, help="Create the database first if missing.")
def migrate(create_database: bool) -> None:
    """Create or update the database schema.

    Applies pending migrations as the owner role, then grants the application role and
    creates or updates the per-service roles whose password is set (IMPORTER_DB_PASSWORD,
    PROCESSOR_DB_PASSWORD, MONITOR_DB_PASSWORD).

    \b
    Example:
      pipeline migrate --create-database
    """
    _migrate(create_database)


def _migrate(create_database: bool) -> None:
    from services.importer import roles
    from services.importer.config import ImporterSettings
    from services.importer.schema import migrate_all

    settings = load_settings(ImporterSettings, "pipeline")
    passwords = load_settings(roles.RolePasswords, "pipeline")
    configure_logging(settings.log_level)
    owner = settings.owner_database_url

    async def migrate_and_grant(conn: asyncpg.Connection) -> tuple[list[str], list[str]]:
        applied = await migrate_all(conn, app_role=settings.app_role)
        return applied, await roles.apply(conn, settings.namespace, passwords)

    async def apply() -> None:
        if create_database and await ensure_database(owner):
            click.echo("created the database")
        # The compose migrate service may start before PostgreSQL answers: wait for it.
        wait_s = settings.startup_wait_s
        applied, granted = await migrate_as_owner(owner, migrate_and_grant, wait_s=wait_s)
        click.echo(f"applied {len(applied)} migration(s): {', '.join(applied) or 'none pending'}")
        if granted:
            click.echo(f"roles ready: {', '.join(granted)}")

    run_async(apply())


@click.command()
@click.option("--date", "day", type=click.DateTime(["%Y-%m-%d"]), help="Day (UTC); default today.")
@click.option("--from", "start", type=click.DateTime(["%Y-%m-%d"]), help="First day of a range.")
@click.option("--to", "end", type=click.DateTime(["%Y-%m-%d"]), help="Last day of a range.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
def report(day: datetime | None, start: datetime | None, end: datetime | None, fmt: str) -> None:
    """Print the report: scraped, validated, imported, errors.

    Read from what the monitor stored; today by default.

    \b
    Example:
      pipeline report
      pipeline report --from 2026-11-01 --to 2026-11-30 --format json
    """
    settings = settings_or_exit()
    from services.monitor.report import build_report, render_text

    first, last = _period(day, start, end)

    async def show() -> None:
        conn = await connect_once(settings.database_url)
        try:
            data = await build_report(conn, first, last)
        finally:
            await conn.close()
        if fmt == "json":
            click.echo(orjson.dumps(data, option=orjson.OPT_INDENT_2, default=str).decode())
        else:
            click.echo(render_text(data))

    run_async(show())


def _period(
    day: datetime | None, start: datetime | None, end: datetime | None
) -> tuple[date, date]:
    if day is not None and (start or end):
        raise click.UsageError("use either --date or --from/--to")
    if day is not None:
        return day.date(), day.date()
    today = datetime.now(UTC).date()
    first = start.date() if start else today
    last = end.date() if end else (first if start else today)
    if last < first:
        raise click.UsageError("--to is before --from")
    return first, last


COMMANDS: list[click.Command] = [up, migrate, report]
