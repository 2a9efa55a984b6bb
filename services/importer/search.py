"""Full-text search over the three tables: weighted tsvector ranking, trigram fallback for typos.

Three passes, the first that finds anything wins:

1. every word must match (``websearch_to_tsquery``), ranked by the weighted ``ts_rank_cd``
   (vehicles: year, make, model weigh most, then the description, then the location, category
   and condition, so "muscle cars" finds the seed's category);
   a two-digit year is read as a model year ("69 camaro" → "1969 camaro");
2. typos: rows whose name (make and model, event name, article title) is close to a query word
   by trigram word similarity ("camero" → Camaro), boosted by the year and by matching words;
3. any word may match, ranked the same way as the first pass.

The query is always a parameter, never SQL text.
"""

from __future__ import annotations

import re
from typing import Any

import asyncpg

from shared.events import RecordType

WORD_SIMILARITY = 0.4  # pg_trgm's default of 0.6 misses "camero" vs "Camaro" (0.43)
MAX_FUZZY_WORDS = 6
_YEAR_RE = re.compile(r"^'?(\d{2})$")
_WORD_RE = re.compile(r"[^\W\d_][\w'-]*", re.UNICODE)

_SELECTS: dict[RecordType, str] = {
    RecordType.VEHICLES: (
        "id, year, make, model, price::text AS price, category, condition, location_city, "
        "location_state, source_name, source_url"
    ),
    RecordType.EVENTS: (
        "id, name, event_type, start_date::text AS start_date, venue, city, state, url, source_name"
    ),
    RecordType.ARTICLES: (
        "id, title, url, published_date::text AS published_date, author, source_name"
    ),
}
_ANY_WORD = (  # the lexemes of websearch_to_tsquery joined by OR instead of AND
    "CAST(replace(websearch_to_tsquery('english', $1)::text, ' & ', ' | ') AS tsquery)"
)
_TRIGRAM_EXPR: dict[RecordType, str] = {  # the expressions of the trigram GIN indexes
    RecordType.VEHICLES: "(make || ' ' || model)",
    RecordType.EVENTS: "name",
    RecordType.ARTICLES: "title",
}


def expand_years(query: str, record_type: RecordType) -> str:
    """Return the query with two-digit words read as 19xx model years (vehicles only)."""
    if record_type is not RecordType.VEHICLES:
        return query
    words = [f"19{m.group(1)}" if (m := _YEAR_RE.match(w)) else w for w in query.split()]
    return " ".join(words)


def query_year(query: str) -> int | None:
    """Return the first model year a query names (``69`` or ``1969``), if any."""
    for word in expand_years(query, RecordType.VEHICLES).split():
        if word.isdigit() and len(word) == 4 and 1886 <= int(word) <= 2100:
            return int(word)
    return None


def fuzzy_words(query: str) -> list[str]:
    """Return the query's words of three letters or more, the ones worth a trigram match."""
    return [w.lower() for w in _WORD_RE.findall(query) if len(w) >= 3][:MAX_FUZZY_WORDS]


async def search(
    conn: asyncpg.Connection, query: str, record_type: RecordType, limit: int = 20
) -> list[dict[str, Any]]:
    """Return up to ``limit`` rows ranked by relevance (``rank`` included); typos fall back.

    Every result is a dict of the table's display columns plus ``rank`` and ``match`` (``all``,
    ``fuzzy`` or ``any``: which pass found it).
    """
    query = query.strip()
    if not query or limit <= 0:
        return []
    expanded = expand_years(query, record_type)
    rows = await _full_text(conn, expanded, record_type, limit, any_word=False)
    match = "all"
    if not rows:
        rows, match = await _fuzzy(conn, query, record_type, limit), "fuzzy"
    if not rows:
        rows, match = await _full_text(conn, expanded, record_type, limit, any_word=True), "any"
    return [{**dict(row), "rank": round(float(row["rank"]), 4), "match": match} for row in rows]


async def _full_text(
    conn: asyncpg.Connection, query: str, record_type: RecordType, limit: int, *, any_word: bool
) -> list[asyncpg.Record]:
    tsquery = _ANY_WORD if any_word else "websearch_to_tsquery('english', $1)"
    rows: list[asyncpg.Record] = await conn.fetch(
        f"SELECT {_SELECTS[record_type]}, ts_rank_cd(search_vector, q) AS rank "
        f"FROM {record_type.value}, (SELECT {tsquery} AS q) AS query "
        "WHERE search_vector @@ q ORDER BY rank DESC, id LIMIT $2",
        query,
        limit,
    )
    return rows


async def _fuzzy(
    conn: asyncpg.Connection, query: str, record_type: RecordType, limit: int
) -> list[asyncpg.Record]:
    words = fuzzy_words(query)
    if not words:
        return []
    expr = _TRIGRAM_EXPR[record_type]
    # one "word <% expr" per word so the trigram GIN index serves each (it cannot serve ANY())
    params = ", ".join(f"${i}" for i in range(4, 4 + len(words)))
    matches = " OR ".join(f"${i} <% {expr}" for i in range(4, 4 + len(words)))
    year_boost = (  # a named year lifts the listings of that year; $3 is NULL when none
        "CASE WHEN year = $3 THEN 0.5 ELSE 0 END"
        if record_type is RecordType.VEHICLES
        else "coalesce($3::int, 0) * 0"
    )
    sql = (
        f"SELECT {_SELECTS[record_type]}, "
        f"(SELECT max(word_similarity(w, {expr})) FROM unnest(ARRAY[{params}]::text[]) AS w)"
        f" + {year_boost} + ts_rank_cd(search_vector, q) AS rank "
        f"FROM {record_type.value}, (SELECT {_ANY_WORD} AS q) AS query "
        f"WHERE ({matches}) ORDER BY rank DESC, id LIMIT $2"
    )
    async with conn.transaction():
        await conn.execute(
            "SELECT set_config('pg_trgm.word_similarity_threshold', $1, true)",
            str(WORD_SIMILARITY),
        )
        rows: list[asyncpg.Record] = await conn.fetch(
            sql, expand_years(query, record_type), limit, query_year(query), *words
        )
    return rows
