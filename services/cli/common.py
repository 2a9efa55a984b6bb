"""Helpers every ``pipeline`` command uses: settings with one-line errors, running a coroutine."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Coroutine
from typing import Any, TypeVar

import click

from shared.errors import ConfigError
from shared.lifecycle import load_settings
from shared.settings import PipelineSettings

T = TypeVar("T")


def settings_or_exit() -> PipelineSettings:
    """Return the pipeline settings, or exit 2 with one line per configuration problem."""
    return load_settings(PipelineSettings, "pipeline")


def run_async(coro: Coroutine[Any, Any, T]) -> T:
    """Run a command's coroutine; an unusable NATS or PostgreSQL exits 2 with one line."""
    try:
        return asyncio.run(coro)
    except ConfigError as exc:
        click.echo(f"pipeline: {exc}", err=True)
        sys.exit(2)
