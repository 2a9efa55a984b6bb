"""``pipeline car``: one car's listings, signals and timeline; the text the search's cars use."""

from __future__ import annotations

import sys
from datetime import datetime
from decimal import Decimal
from typing import Any

import click

from services.cli.common import run_async
from services.importer import cars
from services.importer.config import ImporterSettings
from shared.db import connect_once
from shared.lifecycle import load_settings


def money(value: Decimal | str | None) -> str:
    """Return a price as ``$46,000`` (``-`` when there is none)."""
    return f"${float(value):,.0f}" if value is not None else "-"


def when(value: datetime | None) -> str:
    """Return a moment as ``2026-12-02 11:00`` UTC."""
    return value.strftime("%Y-%m-%d %H:%M") if value is not None else "-"


def _pct(value: float | None) -> str:
    return f"{value:+.1f}%" if value is not None else "n/a"


def listing_line(item: dict[str, Any]) -> str:
    """Return one listing of a car: id, site, current price, first and last seen, URL."""
    return (
        f"#{item['listing_id']}  {item['site']}  {money(item['price'])}  "
        f"first {when(item['first_seen'])}  last {when(item['last_seen'])}  {item['url'] or ''}"
    ).rstrip()


def render(car: dict[str, Any]) -> list[str]:
    """Return the car as lines of text: heading, signals, listings, timeline."""
    s = car["signals"]
    lines = [f"car {car['car_id']}: {car['year']} {car['make']} {car['model']}"]
    lines.append(
        f"{s['listings']} listing(s) on {s['sites']} site(s); "
        f"first seen {when(s.get('first_seen'))}, last seen {when(s.get('last_seen'))} "
        f"({s.get('days_on_market', 0)} days on market)"
    )
    if "price_changes" in s:
        p = s["price_changes"]
        lines.append(
            f"price: first {money(p['first'])}, latest {money(p['latest'])} "
            f"({_pct(p['change_pct'])}), {p['count']} change(s); "
            f"lowest now {money(s['lowest_price'])}"
        )
    for r in s.get("relisted", []):
        lines.append(
            f"relisted: {r['site']} on {when(r['at'])} at {money(r['price'])} "
            f"({r['previous_site']} asked {money(r['previous_price'])}: {_pct(r['change_pct'])})"
        )
    market = s.get("market")
    if market:
        lines.append(
            f"market: median {money(market.get('median'))} of {market.get('comparables')} "
            f"comparables, percentile {market.get('percentile')}; lowest price "
            f"{_pct(market.get('lowest_vs_median_pct'))} vs median"
        )
    lines += ["", "listings:"] + [f"  {listing_line(item)}" for item in car["listings"]]
    lines += ["", "timeline:"]
    for e in car["timeline"]:
        line = f"  {when(e['at'])}  {e['site']}  {e['kind']}  {money(e['price'])}"
        if e["kind"] == "price_change":
            line += f"  (was {money(e['previous_price'])})"
        elif e["kind"] == "relisted":
            line += f"  ({e['previous_site']} asked {money(e['previous_price'])})"
        lines.append(line)
    return lines


@click.command("car")
@click.argument("ref", metavar="ID|URL")
@click.option("--json", "as_json", is_flag=True, help="Print the car as JSON (as /api/cars/ID).")
def car(ref: str, as_json: bool) -> None:
    """Show a car: its listings per site, signals and timeline.

    ID is any of its listings' ids (as `pipeline search` shows), URL any of its listings' URLs.
    Exits 1 when no listing has that id or URL.

    \b
    Example:
      pipeline car 1
      pipeline car https://dealer.example/listing/A1 --json
    """
    settings = load_settings(ImporterSettings, "pipeline")

    async def run() -> dict[str, Any] | None:
        conn = await connect_once(settings.database_url)
        try:
            car_hash = await cars.find(conn, ref)
            return await cars.load(conn, car_hash) if car_hash else None
        finally:
            await conn.close()

    found = run_async(run())
    if found is None:
        click.echo(f"no listing has the id or URL {ref}", err=True)
        sys.exit(1)
    if as_json:
        click.echo(cars.to_json(found))
        return
    for line in render(found):
        click.echo(line)


COMMANDS: list[click.Command] = [car]
