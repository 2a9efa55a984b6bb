"""The other services' health, from the heartbeats they send on core NATS every ``HEARTBEAT_S``.

Heartbeats are not stored (they are not on the stream); the registry fills again within one
heartbeat period after a restart. An instance is stale once it has been silent for
``STALE_AFTER_BEATS`` periods, and forgotten after an hour of silence.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import structlog
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from pydantic import ValidationError

from shared.bus import Bus
from shared.events import Heartbeat

log = structlog.get_logger(__name__)

STALE_AFTER_BEATS = 3
FORGET_AFTER_S = 3600.0


@dataclass
class Seen:
    """The last heartbeat of one instance and when (monotonic) it arrived."""

    beat: Heartbeat
    received: float


class Heartbeats:
    """Last heartbeat per service instance."""

    def __init__(self, heartbeat_s: float) -> None:
        """Create an empty registry for services beating every ``heartbeat_s``."""
        self.heartbeat_s = heartbeat_s
        self._seen: dict[tuple[str, str], Seen] = {}

    def note(self, beat: Heartbeat, now: float | None = None) -> None:
        """Record a heartbeat."""
        self._seen[(beat.service, beat.instance)] = Seen(
            beat, time.monotonic() if now is None else now
        )

    async def on_message(self, msg: Msg) -> None:
        """Core-NATS callback: parse and record a heartbeat, ignore anything malformed."""
        try:
            self.note(Heartbeat.model_validate_json(msg.data))
        except ValidationError:
            log.warning("monitor.heartbeat_invalid", subject=msg.subject)

    async def subscribe(self, bus: Bus) -> Subscription:
        """Subscribe to every service's heartbeat subject of the namespace."""
        return await bus.nc.subscribe(bus.names.heartbeats, cb=self.on_message)

    def services(self, now: float | None = None) -> dict[str, Any]:
        """Return service -> instances with last seen age and staleness, and an overall flag."""
        now = time.monotonic() if now is None else now
        stale_after = self.heartbeat_s * STALE_AFTER_BEATS
        out: dict[str, dict[str, Any]] = {}
        for (service, instance), seen in sorted(self._seen.items()):
            age = now - seen.received
            if age > FORGET_AFTER_S:
                del self._seen[(service, instance)]
                continue
            entry = out.setdefault(service, {"healthy": False, "instances": []})
            stale = age > stale_after
            entry["healthy"] = entry["healthy"] or not stale
            entry["instances"].append(
                {
                    "instance": instance,
                    "last_seen_s": round(age, 1),
                    "sent_at": seen.beat.sent_at.isoformat(),
                    "started_at": seen.beat.started_at.isoformat(),
                    "version": seen.beat.pipeline_version,
                    "stale": stale,
                }
            )
        return out
