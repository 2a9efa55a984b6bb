"""Full-text search over the three tables: weighted tsvector ranking, trigram fallback for typos."""

from __future__ import annotations

from typing import Any

import asyncpg

from shared.events import RecordType

_SELECTS: dict[RecordType, str] = {
    RecordType.VEHICLES: (
        "id, year, make, model, price::text AS price, location_city, location_state, "
        "source_name, source_url, (make || ' ' || model) AS trigram_text"
    ),
    RecordType.EVENTS: (
        "id, name, event_type, start_date::text AS start_date, venue, city, state, url, "
        "source_name, name AS trigram_text"
    ),
    RecordType.ARTICLES: (
        "id, title, url, published_date::text AS published_date, author, source_name, "
        "title AS trigram_text"
    ),
}
_TRIGRAM_EXPR: dict[RecordType, str] = {
    RecordType.VEHICLES: "(make || ' ' || model)",
    RecordType.EVENTS: "name",
    RecordType.ARTICLES: "title",
}


async def search(
    conn: asyncpg.Connection, query: str, record_type: RecordType, limit: int = 20
) -> list[dict[str, Any]]:
    """Return up to ``limit`` rows ranked by relevance; misspellings fall back to trigrams.

    The query is a parameter (``websearch_to_tsquery``), never SQL text.
    """
    table = record_type.value
    select = _SELECTS[record_type]
    rows = await conn.fetch(
        f"SELECT {select}, ts_rank(search_vector, q) AS rank "
        f"FROM {table}, websearch_to_tsquery('english', $1) AS q "
        "WHERE search_vector @@ q ORDER BY rank DESC, id LIMIT $2",
        query,
        limit,
    )
    if not rows:
        expr = _TRIGRAM_EXPR[record_type]
        rows = await conn.fetch(
            f"SELECT {select}, similarity({expr}, $1) AS rank FROM {table} "
            f"WHERE {expr} % $1 ORDER BY rank DESC, id LIMIT $2",
            query,
            limit,
        )
    return [{k: v for k, v in dict(row).items() if k != "trigram_text"} for row in rows]
