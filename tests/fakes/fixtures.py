"""Fixture payloads of the fake providers: a handful of recognisable classic-car items each."""

from __future__ import annotations

from typing import Any

APIFY_ITEMS: list[dict[str, Any]] = [
    {
        "url": "https://bringatrailer.com/listing/1967-ford-mustang-fastback-42/",
        "title": "1967 Ford Mustang Fastback 4-Speed",
        "year": 1967,
        "make": "Ford",
        "model": "Mustang Fastback",
        "currentBid": 61000,
        "currency": "USD",
        "location": "Austin, Texas 78701",
    },
    {
        "url": "https://bringatrailer.com/listing/1972-porsche-911t-targa-9/",
        "title": "1972 Porsche 911T Targa",
        "year": 1972,
        "make": "Porsche",
        "model": "911T Targa",
        "currentBid": 88500,
        "currency": "USD",
        "location": "Scottsdale, Arizona 85251",
    },
    {
        "url": "https://bringatrailer.com/listing/1965-jaguar-e-type-3/",
        "title": "1965 Jaguar E-Type Series 1 Roadster",
        "year": 1965,
        "make": "Jaguar",
        "model": "E-Type",
        "currentBid": "Bid to $120,000",
        "currency": "USD",
        "location": "Monterey, California 93940",
    },
]


def brave_result(n: int) -> dict[str, Any]:
    """Return the n-th Brave web result of the fixture query."""
    return {
        "type": "search_result",
        "subtype": "generic",
        "title": f"1967 Ford Mustang Fastback for Sale #{n}",
        "url": f"https://www.classiccars.example/listing/mustang-{n}",
        "description": "This 1967 Ford Mustang Fastback is offered in Austin, Texas.",
        "page_age": "2026-06-07T14:02:11",
        "age": "June 7, 2026",
        "language": "en",
        "meta_url": {"scheme": "https", "hostname": "www.classiccars.example"},
        "extra_snippets": ["Offered at no reserve."],
    }


BRAVE_RESULTS = [brave_result(n) for n in range(45)]

TAVILY_RESULTS: list[dict[str, Any]] = [
    {
        "title": "1967 Ford Mustang Fastback 4-Speed | Bring a Trailer",
        "url": "https://bringatrailer.com/listing/1967-ford-mustang-fastback-42/",
        "content": "This 1967 Ford Mustang Fastback sold for $61,000 on June 14, 2026.",
        "score": 0.83,
        "raw_content": None,
    },
    {
        "title": "Hershey Fall Meet 2026",
        "url": "https://www.aaca.org/hershey-fall-meet/",
        "content": "October 7-10, 2026, Hershey, PA.",
        "score": 0.71,
        "raw_content": None,
    },
]

PERPLEXITY_RECORDS: dict[str, list[dict[str, Any]]] = {
    "events": [
        {
            "name": "The Amelia Concours d'Elegance",
            "start_date": "2026-03-05",
            "end_date": "2026-03-08",
            "venue": "The Ritz-Carlton, Amelia Island",
            "city": "Amelia Island",
            "state": "FL",
            "url": "https://www.ameliaconcours.org/",
        },
        {
            "name": "Unsupported Show",
            "start_date": "2026-04-01",
            "city": "Nowhere",
            "url": "https://not-in-search-results.example/",
        },
    ],
    "vehicles": [
        {"year": 1967, "make": "Ford", "model": "Mustang", "url": "https://x.example/1"},
    ],
    "articles": [{"title": "Market report", "url": "https://www.hagerty.com/media/market/"}],
}

PERPLEXITY_SEARCH_RESULTS = [
    {
        "title": "The Amelia | Concours d'Elegance",
        "url": "https://www.ameliaconcours.org/",
        "date": "2026-01-12",
        "snippet": "March 5-8, 2026 · The Ritz-Carlton, Amelia Island ...",
        "source": "web",
    }
]

JINA_PAGE: dict[str, Any] = {
    "title": "2026 Pebble Beach Concours d'Elegance: What to know",
    "description": "Dates, tickets and the featured classes for this year's show.",
    "content": "# 2026 Pebble Beach Concours d'Elegance\n\nSunday, August 16, 2026 ...",
    "publishedTime": "Mon, 20 Jul 2026 09:00:00 GMT",
    "usage": {"tokens": 1843},
}

JINA_SEARCH: list[dict[str, Any]] = [
    {
        "title": "Hershey Fall Meet 2026 | AACA",
        "url": "https://www.aaca.org/hershey-fall-meet/",
        "description": "The AACA Eastern Division Fall Meet, October 7-10, 2026, Hershey, PA",
        "content": "# Eastern Division Fall Meet\n\nOctober 7-10, 2026",
        "usage": {"tokens": 2210},
    }
]

FEED_LISTINGS: list[dict[str, Any]] = [
    {"id": "A1", "year": 1969, "make": "Chevrolet", "model": "Camaro", "price": "$54,000"},
    {"id": "A2", "year": 1958, "make": "Mercedes-Benz", "model": "190SL", "price": 135000},
]
