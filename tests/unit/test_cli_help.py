"""Every ``pipeline`` command's help says what it does in one line and shows an example."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from services.cli import main

NAMES = ["", *sorted(main.commands)]  # "" is `pipeline` itself


def test_every_command_is_walked() -> None:
    """The walk reaches the group and each subcommand, so a command added later is covered too."""
    assert {"", "up", "migrate", "report", "search", "check", "process"} <= set(NAMES)
    assert len(NAMES) == len(main.commands) + 1


@pytest.mark.parametrize("name", NAMES, ids=lambda name: name or "pipeline")
def test_help_has_a_one_line_summary_and_an_example(name: str) -> None:
    """The docstring opens with one sentence on one line; --help shows it and an example."""
    command = main.commands[name] if name else main
    summary = (command.help or "").strip().split("\n\n", 1)[0]
    assert summary, f"{name or 'pipeline'} has no help"
    assert "\n" not in summary, f"not one line: {summary!r}"
    assert summary.endswith("."), f"not a sentence: {summary!r}"

    result = CliRunner().invoke(main, [*([name] if name else []), "--help"])

    assert result.exit_code == 0, result.output
    assert summary in " ".join(result.output.split()), result.output
    lines = [line.strip() for line in result.output.splitlines()]
    assert "Example:" in lines, result.output
    example = lines[lines.index("Example:") + 1]
    words = example.split()
    at = words.index("pipeline")  # an environment assignment may come first
    assert words[at + 1] == name if name else words[at + 1] in main.commands, example
