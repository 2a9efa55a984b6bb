"""Triggers over NATS request/reply: ``rpc.<ns>.{scrape,process_date,import_date,full,backfill}``.

The subjects lie outside the stream on purpose; every replica subscribes with the queue group
``<ns>-collector`` so one of them answers. A request is a JSON object (an empty body means
``{}``); the reply is ``{"ok": true, ...result}`` or ``{"ok": false, "error": "..."}``.

| subject       | request                                  | reply (besides ``ok``)              |
| ------------- | ---------------------------------------- | ----------------------------------- |
| scrape        | ``{"type": "vehicles", "provider"?: P}`` | runs, files, records, errors        |
| process_date  | ``{"date": "YYYY-MM-DD"}``               | process_requested (paths)           |
| import_date   | ``{"date": "YYYY-MM-DD"}``               | import_requested (paths)            |
| full          | ``{"provider"?: P}``                     | scraped (per type), files, errors   |
| backfill      | ``{"from": D, "to": D}``                 | days: {D: {process: n, import: m}}  |
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import date
from typing import Any

import orjson
import structlog
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from pydantic import ValidationError

from services.collector.operations import Operations
from shared.events import RecordType
from shared.subjects import Names

log = structlog.get_logger(__name__)

Handler = Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]
NAMES = ("scrape", "process_date", "import_date", "full", "backfill")


def _day(body: dict[str, Any], key: str) -> date:
    value = body.get(key)
    if not isinstance(value, str):
        raise ValueError(f"{key!r} must be a YYYY-MM-DD string")
    return date.fromisoformat(value)


def handlers(ops: Operations) -> dict[str, Handler]:
    """Return the request handlers by trigger name."""

    async def scrape(body: dict[str, Any]) -> dict[str, Any]:
        return await ops.scrape(RecordType(str(body.get("type"))), body.get("provider"))

    async def process_date(body: dict[str, Any]) -> dict[str, Any]:
        return await ops.process_date(_day(body, "date"))

    async def import_date(body: dict[str, Any]) -> dict[str, Any]:
        return await ops.import_date(_day(body, "date"))

    async def full(body: dict[str, Any]) -> dict[str, Any]:
        return await ops.full(body.get("provider"))

    async def backfill(body: dict[str, Any]) -> dict[str, Any]:
        return await ops.backfill(_day(body, "from"), _day(body, "to"))

    return {
        "scrape": scrape,
        "process_date": process_date,
        "import_date": import_date,
        "full": full,
        "backfill": backfill,
    }


async def answer(handler: Handler, data: bytes) -> dict[str, Any]:
    """Run one request; return the reply (errors become ``ok: false`` with the reason)."""
    try:
        body = orjson.loads(data) if data.strip() else {}
        if not isinstance(body, dict):
            raise ValueError("the request must be a JSON object")
        return {"ok": True, **await handler(body)}
    except (ValueError, ValidationError, orjson.JSONDecodeError) as exc:
        return {"ok": False, "error": f"bad request: {exc}"}
    except Exception as exc:
        log.exception("trigger.failed")
        return {"ok": False, "error": str(exc) or repr(exc)}


async def subscribe(nc: Client, names: Names, ops: Operations) -> list[Subscription]:
    """Subscribe every trigger subject in the queue group; return the subscriptions."""
    subscriptions = []
    for name, handler in handlers(ops).items():

        async def respond(msg: Msg, handler: Handler = handler, name: str = name) -> None:
            log.info("trigger.received", trigger=name)
            reply = await answer(handler, msg.data)
            log.info("trigger.answered", trigger=name, ok=reply["ok"])
            if msg.reply:
                await msg.respond(orjson.dumps(reply, default=str))

        subject = names.rpc(name)
        subscriptions.append(
            await nc.subscribe(subject, queue=f"{names.namespace}-collector", cb=respond)
        )
    return subscriptions


async def unsubscribe(subscriptions: list[Subscription]) -> None:
    """Stop answering triggers."""
    await asyncio.gather(*(s.unsubscribe() for s in subscriptions), return_exceptions=True)
