"""Evaluate the rules, keep firing alerts in ``monitor_alerts``, notify on change.

Per (rule, key): a finding makes the alert firing; when the rule runs and no longer finds it,
it is resolved. A firing incident is notified once, unless a notification of the same
(rule, key) went out less than ``cooldown_s`` ago (then it is sent when the cooldown ends, if
still firing). A resolved message is sent only for an incident that was notified. Everything is
in PostgreSQL, so a restart neither forgets a firing alert nor sends it again.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import asyncpg
import orjson
import structlog

from services.monitor.alerts.checks import CHECKS, Context
from services.monitor.alerts.rules import Finding, Rule
from services.monitor.alerts.webhooks import Notification

log = structlog.get_logger(__name__)

Send = Callable[[Notification], Awaitable[int]]

UPSERT_FIRING = """
INSERT INTO monitor_alerts
    (rule, key, state, severity, message, details, first_fired_at, last_seen_at)
VALUES ($1, $2, 'firing', $3, $4, $5::jsonb, $6, $6)
ON CONFLICT (rule, key) DO UPDATE SET
    state = 'firing', severity = EXCLUDED.severity, message = EXCLUDED.message,
    details = EXCLUDED.details, last_seen_at = EXCLUDED.last_seen_at, resolved_at = NULL,
    first_fired_at = CASE WHEN monitor_alerts.state = 'firing'
                          THEN monitor_alerts.first_fired_at ELSE EXCLUDED.first_fired_at END
RETURNING first_fired_at, last_notified_at
"""


@dataclass
class AlertEngine:
    """The configured rules, how to send, and the cooldown."""

    rules: list[Rule]
    send: Send
    cooldown_s: float

    async def evaluate(self, conn: asyncpg.Connection, ctx: Context) -> list[Notification]:
        """Run every rule once; update the alert table; send and return the notifications."""
        sent: list[Notification] = []
        for rule in self.rules:
            try:
                findings = await CHECKS[rule.kind](conn, rule, ctx)
            except (asyncpg.PostgresError, ValueError) as exc:
                log.error("monitor.alert_rule_failed", rule=rule.name, error=repr(exc))
                continue  # a failed check neither fires nor resolves anything
            for finding in findings:
                note = await self._fire(conn, finding, ctx.now)
                if note is not None:
                    sent.append(note)
            sent.extend(await self._resolve(conn, rule, {f.key for f in findings}, ctx.now))
        return sent

    async def _fire(
        self, conn: asyncpg.Connection, finding: Finding, now: datetime
    ) -> Notification | None:
        row = await conn.fetchrow(
            UPSERT_FIRING,
            finding.rule,
            finding.key,
            finding.severity,
            finding.message,
            orjson.dumps(finding.details).decode(),
            now,
        )
        first, notified = row["first_fired_at"], row["last_notified_at"]
        if notified is not None and (notified >= first or not self._cooled(notified, now)):
            return None  # this incident was notified, or one recently was: no storm
        note = Notification(
            "firing",
            finding.rule,
            finding.key,
            finding.severity,
            finding.message,
            finding.details,
            first,
            now,
        )
        return await self._deliver(conn, note)

    async def _resolve(
        self, conn: asyncpg.Connection, rule: Rule, still: set[str], now: datetime
    ) -> list[Notification]:
        rows = await conn.fetch(
            "UPDATE monitor_alerts SET state = 'resolved', resolved_at = $2"
            " WHERE rule = $1 AND state = 'firing' AND NOT (key = ANY($3::text[]))"
            " RETURNING key, severity, message, details, first_fired_at, last_notified_at",
            rule.name,
            now,
            sorted(still),
        )
        out = []
        for row in rows:
            log.info("monitor.alert_resolved", rule=rule.name, key=row["key"])
            notified = row["last_notified_at"]
            if notified is None or notified < row["first_fired_at"]:
                continue  # never announced, so nothing to take back
            note = Notification(
                "resolved",
                rule.name,
                row["key"],
                row["severity"],
                f"resolved: {row['message']}",
                orjson.loads(row["details"]),
                row["first_fired_at"],
                now,
            )
            if (done := await self._deliver(conn, note)) is not None:
                out.append(done)
        return out

    def _cooled(self, last: datetime, now: datetime) -> bool:
        return now - last >= timedelta(seconds=self.cooldown_s)

    async def _deliver(self, conn: asyncpg.Connection, note: Notification) -> Notification | None:
        log.warning(
            "monitor.alert", status=note.status, rule=note.rule, key=note.key, message=note.message
        )
        if await self.send(note) == 0:
            return None  # nobody took it: try again at the next evaluation
        await conn.execute(
            "UPDATE monitor_alerts SET last_notified_at = $3 WHERE rule = $1 AND key = $2",
            note.rule,
            note.key,
            note.at,
        )
        return note


async def firing(conn: asyncpg.Connection) -> list[dict[str, Any]]:
    """Return the alerts firing now, newest first, as JSON."""
    rows = await conn.fetch(
        "SELECT rule, key, severity, message, details, first_fired_at, last_seen_at,"
        " last_notified_at FROM monitor_alerts WHERE state = 'firing'"
        " ORDER BY first_fired_at DESC, rule, key"
    )
    return [
        {
            **dict(row),
            "details": orjson.loads(row["details"]),
            **{
                k: row[k].isoformat() if row[k] else None
                for k in ("first_fired_at", "last_seen_at", "last_notified_at")
            },
        }
        for row in rows
    ]
