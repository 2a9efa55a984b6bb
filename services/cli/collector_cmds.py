"""``pipeline`` commands that drive the collector: triggers (processing now, scraping later)."""

from __future__ import annotations

import click

from services.cli.common import run_async, settings_or_exit
from shared.bus import connect
from shared.events import ProcessFile, RecordType


@click.command("process")
@click.argument("path")
@click.option("--type", "record_type", type=click.Choice([t.value for t in RecordType]))
def process(path: str, record_type: str | None) -> None:
    """Ask the processor to (re)process a file under DATA_DIR/raw/ (path relative to DATA_DIR)."""
    settings = settings_or_exit()

    async def publish() -> None:
        async with connect(settings, "pipeline-cli") as bus:
            command = ProcessFile(
                path=path, record_type=RecordType(record_type) if record_type else None
            )
            await bus.publish(command)
        click.echo(f"requested processing of {path} (event {command.event_id})")

    run_async(publish())


COMMANDS: list[click.Command] = [process]
