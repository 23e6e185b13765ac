"""Authors go from the page, through extraction, into Postgres (migration 0008_pages_authors)."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime

from flows.config.sources import Source
from flows.extract.article import extract_article
from flows.records import FetchedPage
from flows.store import articles as store
from flows.store import db

PAGE = (
    "<html><head><title>Ferry timetable</title>"
    '<script type="application/ld+json">'
    + json.dumps(
        {
            "@type": "NewsArticle",
            "headline": "Ferry timetable changes",
            "author": [{"@type": "Person", "name": "Gil Ortega"}, "Hana Sato"],
        }
    )
    + "</script></head><body><article><h1>Ferry timetable changes</h1>"
    + "".join(
        f"<p>Change {n}: the island ferry will sail every {30 + n} minutes from Monday, the "
        "operator said, after the council approved a second vessel for the northern crossing.</p>"
        for n in range(4)
    )
    + "</article></body></html>"
)


def test_authors_are_stored_with_the_article(clean_db: str) -> None:
    source = Source(
        name="ferry", start_urls=["https://ferry.example/"], article_url_patterns=["^/"]
    )
    page = FetchedPage(
        "ferry",
        "https://ferry.example/timetable",
        200,
        datetime(2026, 3, 2, 8, 0, tzinfo=UTC),
        PAGE.encode(),
        None,
        "text/html; charset=utf-8",
    )
    article = extract_article(page, source)
    nobody = replace(
        article,
        url="https://ferry.example/other",
        canonical_url="https://ferry.example/other",
        content_hash="0" * 64,
        authors=(),
    )
    with db.connect(clean_db) as connection:
        run_id = store.start_run(connection, ["ferry"])
        result = store.store_articles(connection, [article, nobody], run_id)
        assert not result.errors and len(result.new_article_ids) == 2
        rows = connection.execute("SELECT url, authors FROM articles ORDER BY id").fetchall()
    assert [(row["url"], row["authors"]) for row in rows] == [
        ("https://ferry.example/timetable", ["Gil Ortega", "Hana Sato"]),
        ("https://ferry.example/other", []),
    ]
