"""What earlier runs left for the crawler: known article URLs and entry points' HTTP validators.

Kept in Postgres, so incremental crawling works across runs, workers and machines.
"""

from __future__ import annotations

from collections.abc import Iterable

from flows.records import Validator
from flows.store.articles import mark_urls_seen
from flows.store.db import Connection


def known_urls(connection: Connection, urls: Iterable[str]) -> set[str]:
    """Those of `urls` already stored as (an alias of) an article; each is marked seen now."""
    wanted = sorted(set(urls))
    if not wanted:
        return set()
    mark_urls_seen(connection, wanted)
    rows = connection.execute("SELECT url FROM article_urls WHERE url = ANY(%s)", (wanted,))
    return {row["url"] for row in rows}


def load_validator(connection: Connection, url: str) -> Validator | None:
    row = connection.execute(
        "SELECT url, etag, last_modified FROM http_validators WHERE url = %s", (url,)
    ).fetchone()
    if row is None:
        return None
    return Validator(row["url"], row["etag"], row["last_modified"])


def save_validators(connection: Connection, source: str, validators: Iterable[Validator]) -> int:
    """Remember validators (the newest wins); call only once the pages behind them are stored."""
    rows = [
        (v.url, source, v.etag, v.last_modified)
        for v in validators
        if v.etag is not None or v.last_modified is not None
    ]
    if not rows:
        return 0
    with connection.cursor() as cursor:
        cursor.executemany(
            """INSERT INTO http_validators (url, source, etag, last_modified)
               VALUES (%s, %s, %s, %s)
               ON CONFLICT (url) DO UPDATE SET source = EXCLUDED.source, etag = EXCLUDED.etag,
                   last_modified = EXCLUDED.last_modified, updated_at = now()""",
            rows,
        )
    return len(rows)


def forget_validators(connection: Connection, source: str) -> int:
    """Drop a source's validators, so its next run fetches every entry point in full."""
    cursor = connection.execute("DELETE FROM http_validators WHERE source = %s", (source,))
    return cursor.rowcount
