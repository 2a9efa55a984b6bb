"""``pipeline`` commands of the monitor: list the firing alerts, send a test notification."""

from __future__ import annotations

import click
import orjson

from services.cli.common import run_async
from services.monitor.alerts.engine import firing
from services.monitor.alerts.webhooks import Notification, WebhookSender, parse_targets
from services.monitor.config import MonitorSettings
from services.monitor.schema import migrate
from shared.db import connect_once
from shared.errors import ConfigError
from shared.events import utcnow
from shared.lifecycle import load_settings
from shared.netguard import guarded_session


def _settings() -> MonitorSettings:
    return load_settings(MonitorSettings, "pipeline")


@click.command()
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
def alerts(fmt: str) -> None:
    """List the alerts firing now.

    The monitor keeps them in PostgreSQL.

    \b
    Example:
      pipeline alerts --format json
    """
    settings = _settings()

    async def show() -> None:
        conn = await connect_once(settings.database_url)
        try:
            await migrate(conn)
            rows = await firing(conn)
        finally:
            await conn.close()
        if fmt == "json":
            click.echo(orjson.dumps(rows, option=orjson.OPT_INDENT_2).decode())
            return
        if not rows:
            click.echo("no alert firing")
        for row in rows:
            click.echo(
                f"{row['severity']:<8} {row['rule']} ({row['key']}) since "
                f"{row['first_fired_at']}: {row['message']}"
            )

    run_async(show())


@click.command("alert-test")
def alert_test() -> None:
    """Send a test notification to every configured webhook.

    Every MONITOR_WEBHOOK_URLS target; exits 1 if one refuses.

    \b
    Example:
      MONITOR_WEBHOOK_URLS=https://hooks.example.com/pipeline pipeline alert-test
    """
    settings = _settings()
    try:
        targets = parse_targets(settings.webhook_urls)
    except ConfigError as exc:
        raise click.UsageError(str(exc)) from None
    if not targets:
        raise click.UsageError("MONITOR_WEBHOOK_URLS is empty")

    async def send() -> int:
        now = utcnow()
        note = Notification(
            "firing", "test", "cli", "info", "test notification from `pipeline alert-test`",
            {}, now, now,
        )  # fmt: skip
        async with guarded_session(settings.url_policy()) as session:
            sender = WebhookSender.from_settings(session, targets, settings)
            return await sender.send(note)

    delivered = run_async(send())
    click.echo(f"delivered to {delivered} of {len(targets)} webhook(s)")
    if delivered < len(targets):
        raise SystemExit(1)


COMMANDS: list[click.Command] = [alerts, alert_test]
