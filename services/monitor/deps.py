"""What the HTTP handlers read, under one application key."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
from aiohttp import web

from services.monitor.health import Heartbeats
from services.monitor.metrics import PipelineMetrics
from shared.bus import Bus


@dataclass(frozen=True)
class HttpDeps:
    """What the HTTP handlers read; ``ready`` is set once the consumer runs."""

    bus: Bus
    pool: asyncpg.Pool
    metrics: PipelineMetrics
    heartbeats: Heartbeats | None = None
    data_dir: Path | None = None
    ready: asyncio.Event = field(default_factory=asyncio.Event)


DEPS = web.AppKey("deps", HttpDeps)
