"""``pipeline`` commands of the processor."""

from __future__ import annotations

import click

COMMANDS: list[click.Command] = []
