"""bench scale's building blocks on a small database: generated rows, dedup, index-backed plans."""

from __future__ import annotations

import random

import psycopg

from flows.bench.scale import explain_lookups, generate_articles, make_batch
from flows.store import articles as store
from flows.store import db


def test_generated_articles_dedup_and_plans(clean_db: str) -> None:
    with db.connect(clean_db) as connection:
        run_id = store.start_run(connection, ["bench"])
        generate_articles(connection, 5000, run_id)
        count = connection.execute("SELECT count(*) AS n FROM article_urls").fetchone()
        assert count is not None and count["n"] == 5000

        batch = make_batch(random.Random(1), 200, 5000, "t")
        result = store.store_articles(connection, batch, run_id)
        # one in twenty reuses a stored URL, one in twenty repeats a text from the same batch
        assert result.duplicates == 20
        assert len(result.new_article_ids) == 180
        connection.commit()

        plans = explain_lookups(connection)
    for name, plan in plans.items():
        assert plan["index_backed"], f"{name} is not index-backed:\n{plan['plan']}"
    assert "articles_content_hash_key" in plans["existing article by url or text"]["plan"]


def test_plan_check_catches_a_sequential_scan(clean_db: str) -> None:
    """The check is not vacuous: without the url index the lookup scans the table."""
    with psycopg.connect(clean_db, autocommit=True) as admin:
        admin.execute("ALTER TABLE articles DROP CONSTRAINT articles_canonical_url_key")
    try:
        with db.connect(clean_db) as connection:
            plans = explain_lookups(connection)
        assert not plans["existing article by url or text"]["index_backed"]
    finally:
        with psycopg.connect(clean_db, autocommit=True) as admin:
            admin.execute("TRUNCATE articles CASCADE")
            admin.execute(
                "ALTER TABLE articles ADD CONSTRAINT articles_canonical_url_key UNIQUE (canonical_url)"
            )
