"""End to end as compose runs it: `pipeline migrate` as the owner, then each service as its own
role (the collector with no database), the monitor behind its token.

Real NATS, real PostgreSQL, real processes; the services never migrate and never see the
owner's DSN.
"""

from __future__ import annotations

import random
import secrets
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import pytest

from services.importer import roles
from tests.faults.data import vehicle
from tests.faults.stack import Stack
from tests.integration.test_service_roles import drop_roles, migrate_env, run_migrate
from tests.polling import eventually
from tests.ports import free_port

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.nats,
    pytest.mark.postgres,
    pytest.mark.slow,
    pytest.mark.timeout(240),
]

TOKEN = secrets.token_urlsafe(24)  # made up per run
EVENT = {
    "name": "Hershey Fall Meet",
    "eventType": "swap meet",
    "startDate": "2026-10-07",
    "city": "Hershey",
    "sourceName": "aaca",
}
ARTICLE = {
    "title": "Pebble Beach 2026: what to know",
    "url": "https://news.example.com/pebble",
    "publishedDate": "2026-07-20",
    "sourceName": "jina",
}


async def _counts(owner: str) -> tuple[int, ...] | None:
    conn = await asyncpg.connect(owner)
    try:
        counts = tuple(
            [
                int(await conn.fetchval(f"SELECT count(*) FROM {table}"))
                for table in ("vehicles", "events", "articles", "processor_known_vehicles")
            ]
        )
    finally:
        await conn.close()
    return counts if counts == (20, 1, 1, 20) else None


async def _get(base: str, path: str, **headers: str) -> tuple[int, Any]:
    async with aiohttp.ClientSession() as http, http.get(f"{base}{path}", headers=headers) as r:
        body = await r.json() if r.content_type == "application/json" else await r.text()
        return r.status, body


async def _report_imported(base: str, bearer: dict[str, str]) -> dict[str, Any] | None:
    status, report = await _get(base, "/report", **bearer)
    return report if status == 200 and report["import"]["inserted"] == 22 else None


async def test_each_service_runs_as_its_own_role(tmp_path: Path) -> None:
    """Files dropped into the inbox become rows, known-index entries and a report, with the
    importer, processor and monitor each connected as its own role and no service migrating."""
    port = free_port()
    stack = await Stack.create(tmp_path, MONITOR_PORT=str(port), MONITOR_POLL_S="1")
    owner, namespace = stack.env["DATABASE_URL"], stack.env["PIPELINE_NAMESPACE"]
    passwords = {service: secrets.token_hex(16) for service in roles.SERVICES}
    try:
        run_migrate(migrate_env(owner, namespace, passwords))
        dsn = {
            service: owner.replace("//postgres@", f"//{roles.role_name(namespace, service)}@", 1)
            for service in roles.SERVICES
        }
        stack.start("collector", without=("DATABASE_URL",))
        stack.start("importer", DATABASE_URL=dsn["importer"])
        stack.start("processor", DATABASE_URL=dsn["processor"])
        stack.start("monitor", DATABASE_URL=dsn["monitor"], MONITOR_API_TOKEN=TOKEN)
        base = f"http://127.0.0.1:{port}"

        rng = random.Random(7)
        cars = [vehicle(rng, index) for index in range(20)]
        await stack.drop("vehicles", "cars.json", [*cars, {**cars[0], "price": -1}, "bad"])
        await stack.drop("events", "events.json", [EVENT])
        await stack.drop("articles", "articles.json", [ARTICLE])
        await eventually(lambda: _counts(owner), timeout_s=120)

        bearer = {"Authorization": f"Bearer {TOKEN}"}
        assert (await _get(base, "/report"))[0] == 401
        report = await eventually(lambda: _report_imported(base, bearer), timeout_s=60)
        assert report["import"]["inserted"] == 22
        status, found = await _get(base, "/search?q=Hershey&type=events", **bearer)
        assert status == 200, found
        assert [r["name"] for r in found["results"]] == ["Hershey Fall Meet"]
        day = datetime.now(UTC).date().isoformat()
        status, failed = await _get(base, f"/api/failed?date={day}", **bearer)
        assert (status, failed["records"]) == (200, 2)
        assert all(stack.alive().values()), stack.alive()
        for name in ("importer", "processor", "monitor"):
            log = stack.log_text(name)
            assert "schema.not_owner" in log, name
            assert "migration.applied" not in log, name
        roles_seen = await _session_roles(owner)
        assert roles_seen >= {roles.role_name(namespace, s) for s in roles.SERVICES}
        assert stack.stop_all() == dict.fromkeys(stack.procs, 0)
    finally:
        await stack.destroy()
        await drop_roles(namespace)


async def _session_roles(owner: str) -> set[str]:
    """Return the roles connected to the stack's database now (the services' pools)."""
    conn = await asyncpg.connect(owner)
    try:
        rows = await conn.fetch(
            "SELECT DISTINCT usename FROM pg_stat_activity WHERE datname = current_database()"
        )
        return {row["usename"] for row in rows}
    finally:
        await conn.close()
