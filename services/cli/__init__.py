"""The ``pipeline`` command. Each service's commands live in their own module and are added here."""

from __future__ import annotations

import click

from services.cli import collector_cmds, core, importer_cmds, monitor_cmds, processor_cmds


@click.group(context_settings={"max_content_width": 120})
def main() -> None:
    """Collect, validate, deduplicate and load classic-car data into PostgreSQL.

    Every command reads DATABASE_URL, NATS_URL and DATA_DIR from the environment (README,
    "Configuration"). `pipeline COMMAND --help` shows a command's options and an example.

    \b
    Example:
      pipeline up                      # run the four services
      pipeline report                  # today's report
      pipeline search "69 camaro ss"   # full-text search
    """


for _module in (core, collector_cmds, processor_cmds, importer_cmds, monitor_cmds):
    for _command in _module.COMMANDS:
        main.add_command(_command)
