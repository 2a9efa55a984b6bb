"""Every ``pipeline`` command says what it does in one line and shows an example in its help."""

from __future__ import annotations

import click
import pytest
from click.testing import CliRunner

from services.cli import main

SUMMARY_LIMIT = 59
"""Characters the command list has for a summary at 80 columns beside the longest name."""


def _commands() -> list[tuple[str, click.Command]]:
    """Return the group and every command under it, with the words that invoke them."""
    assert isinstance(main, click.Group)
    return [("", main)] + [(name, command) for name, command in sorted(main.commands.items())]


@pytest.mark.parametrize(("name", "command"), _commands(), ids=lambda v: str(v) or "pipeline")
def test_help_has_one_line_summary_and_an_example(name: str, command: click.Command) -> None:
    """The help opens with a one-line summary that fits the list, then shows an example."""
    args = [name, "--help"] if name else ["--help"]
    result = CliRunner().invoke(main, args, terminal_width=80)
    assert result.exit_code == 0, result.output
    description = result.output.split("\n\n", 2)[1]
    summary_lines = [line for line in description.splitlines() if line.strip()]
    assert len(summary_lines) == 1, f"summary of {name or 'pipeline'} is not one line"
    summary = summary_lines[0].strip()
    assert summary.endswith("."), summary
    if name:  # the group's own summary is not listed
        assert command.get_short_help_str(limit=SUMMARY_LIMIT) == summary
    assert "Example:\n" in result.output
    example = result.output.split("Example:\n", 1)[1].splitlines()[0]
    assert f"pipeline {name}".strip() in example, example


def test_command_list_shows_every_summary_whole() -> None:
    """``pipeline --help`` lists each command with its whole summary, never cut with '...'."""
    result = CliRunner().invoke(main, ["--help"], terminal_width=80)
    assert result.exit_code == 0
    listed = result.output.split("Commands:\n", 1)[1]
    assert "..." not in listed
    assert isinstance(main, click.Group)
    for name in main.commands:
        assert f"  {name} " in listed
