"""Loading articles into Postgres: unique by canonical URL and by normalized content hash."""

from __future__ import annotations

import json
import shutil
import socket
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import psutil
import psycopg

from flows.records import Article, FetchError, RunSummary, SeenCopy
from flows.store.db import Connection
from flows.store.stories import find_story, record_keys, story_keys

# Every stemming configuration of Postgres's text search (pg_ts_config of Postgres 15 to 18) by
# ISO 639-1 code; any other language is matched unstemmed ("simple"). A server that lacks one
# (estonian came with Postgres 17) stores such articles as "simple" (see _INSERT_ARTICLE).
TS_CONFIGS = {
    "ar": "arabic",
    "ca": "catalan",
    "da": "danish",
    "de": "german",
    "el": "greek",
    "en": "english",
    "es": "spanish",
    "et": "estonian",
    "eu": "basque",
    "fi": "finnish",
    "fr": "french",
    "ga": "irish",
    "hi": "hindi",
    "hu": "hungarian",
    "hy": "armenian",
    "id": "indonesian",
    "it": "italian",
    "lt": "lithuanian",
    "nb": "norwegian",
    "ne": "nepali",
    "nl": "dutch",
    "nn": "norwegian",
    "no": "norwegian",
    "pt": "portuguese",
    "ro": "romanian",
    "ru": "russian",
    "sr": "serbian",
    "sv": "swedish",
    "ta": "tamil",
    "tr": "turkish",
    "yi": "yiddish",
}
# A configuration by name, or "simple" where the server has none of that name.
CONFIG_OR_SIMPLE_SQL = (
    "coalesce((SELECT c.oid::regconfig FROM pg_ts_config c WHERE c.cfgname = %s"
    " ORDER BY c.cfgnamespace = 'pg_catalog'::regnamespace DESC LIMIT 1), 'simple'::regconfig)"
)


def ts_config_for(language: str) -> str:
    return TS_CONFIGS.get(language.lower()[:2], "simple")


@dataclass
class StoreResult:
    new_article_ids: list[int] = field(default_factory=list)
    duplicates: int = 0
    errors: list[FetchError] = field(default_factory=list)

    def add(self, other: StoreResult) -> None:
        self.new_article_ids += other.new_article_ids
        self.duplicates += other.duplicates
        self.errors += other.errors


def start_run(connection: Connection, sources: list[str]) -> int:
    """A `running` row naming this process, so a later run can tell if it was killed."""
    me = psutil.Process()
    row = connection.execute(
        """INSERT INTO runs (sources, host, pid, process_started) VALUES (%s, %s, %s, %s)
           RETURNING id""",
        (sources, socket.gethostname(), me.pid, me.create_time()),
    ).fetchone()
    assert row is not None
    return int(row["id"])


def close_abandoned_runs(connection: Connection, scratch_root: Path | None = None) -> list[int]:
    """Mark `crashed` the runs of this host left `running` by a process that is gone (killed,
    out of memory, the machine restarted), and remove what they left under `scratch_root`.

    Only this host's runs: another machine's process cannot be checked from here.
    """
    rows = connection.execute(
        "SELECT id, pid, process_started FROM runs WHERE status = 'running' AND host = %s",
        (socket.gethostname(),),
    ).fetchall()
    gone = [int(row["id"]) for row in rows if not process_alive(row["pid"], row["process_started"])]
    if gone:
        connection.execute(
            """UPDATE runs SET status = 'crashed', finished_at = now()
               WHERE id = ANY(%s) AND status = 'running'""",
            (gone,),
        )
    if scratch_root is not None:
        for run_id in gone:
            shutil.rmtree(scratch_root / str(run_id), ignore_errors=True)
    return gone


def process_alive(pid: int | None, started: float | None) -> bool:
    """Whether the process `pid` that started at `started` (epoch seconds) still runs: a pid
    alone may have been reused."""
    if pid is None or started is None:
        return True  # a row from before runs named their process: leave it alone
    try:
        return bool(abs(psutil.Process(pid).create_time() - started) < 1.0)
    except psutil.NoSuchProcess:
        return False


def articles_of_run(connection: Connection, run_id: int, source: str) -> int:
    """Articles stored by this run for this source, by every attempt of its task."""
    row = connection.execute(
        "SELECT count(*) AS n FROM articles WHERE run_id = %s AND source = %s", (run_id, source)
    ).fetchone()
    return int(row["n"]) if row else 0


def finish_run(connection: Connection, run_id: int, summary: RunSummary, status: str) -> None:
    connection.execute(
        """UPDATE runs SET finished_at = now(), status = %s, pages_fetched = %s,
               articles_new = %s, articles_duplicate = %s, alerts_new = %s, emails_sent = %s,
               error_count = %s, summary = %s
           WHERE id = %s""",
        (
            status,
            summary.pages_fetched,
            summary.articles_new,
            summary.articles_duplicate,
            summary.alerts_new,
            summary.emails_sent,
            len(summary.errors),
            json.dumps(summary.as_dict()),
            run_id,
        ),
    )


def record_errors(connection: Connection, run_id: int, errors: list[FetchError]) -> None:
    if not errors:
        return
    with connection.cursor() as cursor:
        cursor.executemany(
            "INSERT INTO fetch_errors (run_id, source, url, reason) VALUES (%s, %s, %s, %s)",
            [(run_id, error.source, error.url, error.reason[:2000]) for error in errors],
        )


_INSERT_ARTICLE = f"""
WITH new_row AS (SELECT nextval(pg_get_serial_sequence('articles', 'id')) AS id)
INSERT INTO articles (id, story_id, source, url, canonical_url, content_hash, title, body,
                      publisher, published_at, language, hashtags, fetched_at, run_id, ts_config,
                      authors)
SELECT id, COALESCE(%s, id), %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, {CONFIG_OR_SIMPLE_SQL},
       %s
FROM new_row
ON CONFLICT DO NOTHING
RETURNING id
"""


def store_articles(connection: Connection, articles: list[Article], run_id: int) -> StoreResult:
    """Insert new articles; count the rest as duplicates. Safe to rerun and to run concurrently.

    Each article gets its own savepoint so one unstorable article loses nothing else. Call it
    on an idle connection: each article is then its own transaction, and the advisory locks
    of its story keys (flows.store.stories) are released at its commit. Inside a caller's open
    transaction they would pile up until that commit (Postgres' lock table is finite).
    """
    result = StoreResult()
    for article in articles:
        try:
            with connection.transaction():
                article_id = _insert(connection, article, run_id)
        except psycopg.DataError as exc:
            result.errors.append(
                FetchError(article.source, article.url, f"cannot store article: {exc}")
            )
            continue
        if article_id is None:
            result.duplicates += 1
        else:
            result.new_article_ids.append(article_id)
    return result


def _insert(connection: Connection, article: Article, run_id: int) -> int | None:
    # The story is found before the insert, so the row is written once: an UPDATE would
    # recompute its generated tsvector (a to_tsvector of the whole body) a second time.
    keys = article.story_keys or story_keys(article.title, article.body)
    story = find_story(connection, keys, article.title, article.body)
    row = connection.execute(
        _INSERT_ARTICLE,
        (
            story.story_id if story is not None else None,
            article.source,
            article.url,
            article.canonical_url,
            article.content_hash,
            article.title,
            article.body,
            article.publisher,
            article.published_at,
            article.language,
            list(article.hashtags),
            article.fetched_at,
            run_id,
            ts_config_for(article.language),
            list(article.authors),
        ),
    ).fetchone()
    if row is None:
        existing = connection.execute(
            "SELECT id FROM articles WHERE canonical_url = %s OR content_hash = %s LIMIT 1",
            (article.canonical_url, article.content_hash),
        ).fetchone()
        if existing is not None:
            _remember_urls(connection, article, int(existing["id"]))
            mark_urls_seen(
                connection, sorted({article.url, article.canonical_url}), article.fetched_at
            )
        return None
    article_id = int(row["id"])
    with connection.pipeline():
        record_keys(connection, article_id, keys)
        _remember_urls(connection, article, article_id)
    return article_id


def _remember_urls(connection: Connection, article: Article, article_id: int) -> None:
    for url in {article.url, article.canonical_url}:
        connection.execute(
            """INSERT INTO article_urls (url, article_id, first_seen_at, last_seen_at)
               VALUES (%s, %s, %s, %s) ON CONFLICT DO NOTHING""",
            (url, article_id, article.fetched_at, article.fetched_at),
        )


# Each copy's URL and canonical URL as the address of the article its canonical URL or its text
# gave (one statement for a batch of copies).
_REMEMBER_COPIES = """
INSERT INTO article_urls (url, article_id, first_seen_at, last_seen_at)
SELECT address.url, original.id, copy.fetched_at, copy.fetched_at
FROM unnest(%s::text[], %s::text[], %s::text[], %s::timestamptz[])
     AS copy(url, canonical_url, content_hash, fetched_at)
CROSS JOIN LATERAL (
    SELECT id FROM (
        SELECT id, 0 AS rank FROM articles WHERE canonical_url = copy.canonical_url
        UNION ALL
        SELECT id, 1 FROM articles WHERE content_hash = copy.content_hash
    ) found ORDER BY rank LIMIT 1
) original
CROSS JOIN LATERAL (VALUES (copy.url), (copy.canonical_url)) AS address(url)
ON CONFLICT DO NOTHING
"""


def remember_copies(connection: Connection, copies: list[SeenCopy]) -> None:
    """Record the addresses of copies met within a batch (not stored twice) as their article's,
    as the store does for a copy met in a later batch: the next crawl knows them, and the
    story page lists them. Copies of an article that could not be stored are left out."""
    if not copies:
        return
    connection.execute(
        _REMEMBER_COPIES,
        (
            [copy.url for copy in copies],
            [copy.canonical_url for copy in copies],
            [copy.content_hash for copy in copies],
            [copy.fetched_at for copy in copies],
        ),
    )
    latest = max(copy.fetched_at for copy in copies)
    mark_urls_seen(connection, sorted({copy.url for copy in copies}), latest)


# How stale an article URL's "last seen" may get before a crawl meeting it writes it again:
# an outlet's front page polled every minute would otherwise rewrite its thirty rows each time.
SEEN_PRECISION = "5 minutes"


def mark_urls_seen(
    connection: Connection, urls: list[str], seen_at: datetime | None = None
) -> None:
    """Record that an outlet carried these stored article URLs at `seen_at` (default: now),
    the story page's "last seen".

    A row another crawl or store is marking at this moment is skipped (SKIP LOCKED), not waited
    for: it is being marked seen already, and workers never block or deadlock on the marks.
    """
    connection.execute(
        """UPDATE article_urls u SET last_seen_at = stale.seen_at
           FROM (SELECT url, coalesce(%(seen_at)s, now()) AS seen_at FROM article_urls
                 WHERE url = ANY(%(urls)s)
                   AND (last_seen_at IS NULL OR last_seen_at
                        < coalesce(%(seen_at)s, now()) - %(precision)s::interval)
                 ORDER BY url FOR UPDATE SKIP LOCKED) stale
           WHERE u.url = stale.url""",
        {"urls": urls, "precision": SEEN_PRECISION, "seen_at": seen_at},
    )
