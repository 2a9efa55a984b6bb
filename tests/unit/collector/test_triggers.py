"""Trigger requests: parsing, replies and errors, without a broker."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from services.collector.operations import Operations
from services.collector.triggers import answer, handlers


async def _echo(body: dict[str, Any]) -> dict[str, Any]:
    return {"got": body}


async def test_empty_body_is_an_empty_request() -> None:
    """``nats req rpc.<ns>.full ''`` works: an empty body means ``{}``."""
    assert await answer(_echo, b"") == {"ok": True, "got": {}}


@pytest.mark.parametrize("data", [b"[1]", b"{not json"])
async def test_malformed_requests_get_a_bad_request_reply(data: bytes) -> None:
    """A body that is not a JSON object gets ``ok: false`` with the reason."""
    reply = await answer(_echo, data)
    assert reply["ok"] is False
    assert reply["error"].startswith("bad request")


async def test_unexpected_failure_is_answered() -> None:
    """A handler that crashes still gets a reply, so the caller does not wait in vain."""

    async def crash(body: dict[str, Any]) -> dict[str, Any]:
        raise RuntimeError("disk on fire")

    assert await answer(crash, b"{}") == {"ok": False, "error": "disk on fire"}


async def test_scrape_needs_a_known_type() -> None:
    """An unknown record type is a bad request."""
    scrape = handlers(Operations(deps=None))["scrape"]  # type: ignore[arg-type]
    reply = await answer(scrape, b'{"type": "boats"}')
    assert reply["ok"] is False
    assert "boats" in reply["error"]


async def test_backfill_refuses_a_reversed_range() -> None:
    """``from`` after ``to`` is refused before anything is published."""
    ops = Operations(deps=None)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="bad range"):
        await ops.backfill(date(2026, 2, 1), date(2026, 1, 1))
