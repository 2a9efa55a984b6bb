"""The ``pipeline`` command. Each service's commands live in their own module and are added here."""

from __future__ import annotations

import click

from services.cli import (
    car_cmds,
    collector_cmds,
    core,
    importer_cmds,
    monitor_cmds,
    processor_cmds,
    servers_cmds,
)


@click.group()
def main() -> None:
    """Collect, validate, deduplicate and load classic-car data into PostgreSQL.

    Listings, car events and articles, from web APIs and dropped JSON files.

    Every command reads DATABASE_URL, NATS_URL, DATA_DIR and PIPELINE_NAMESPACE from the
    environment (see README.md, "Configuration"). `pipeline COMMAND --help` shows each one.

    \b
    Example:
      pipeline up                      # start the four services
      pipeline report                  # what came in today
      pipeline search "69 camaro"      # find listings
    """


for _module in (
    core,
    servers_cmds,
    collector_cmds,
    processor_cmds,
    importer_cmds,
    car_cmds,
    monitor_cmds,
):
    for _command in _module.COMMANDS:
        main.add_command(_command)
