"""The ``pipeline`` command. Each service's commands live in their own module and are added here."""

from __future__ import annotations

import click

from services.cli import collector_cmds, core, importer_cmds, monitor_cmds, processor_cmds


@click.group()
def main() -> None:
    """Collect, validate, deduplicate and load classic-car data (see README)."""


for _module in (core, collector_cmds, processor_cmds, importer_cmds, monitor_cmds):
    for _command in _module.COMMANDS:
        main.add_command(_command)
