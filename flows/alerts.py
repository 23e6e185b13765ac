"""Matching: every stored, not yet matched article against every active watch, once."""

from __future__ import annotations

from dataclasses import dataclass

from flows.db import Connection

_CLAIM_BATCH = """
SELECT id FROM articles WHERE matched_at IS NULL ORDER BY id LIMIT %s FOR UPDATE SKIP LOCKED
"""

# Each article is matched with the stemming of its own language (its ts_config).
_MATCH = """
INSERT INTO alerts (watch_id, article_id, run_id)
SELECT w.id, a.id, %(run_id)s
FROM articles a
JOIN watches w ON NOT w.muted AND a.tsv @@ websearch_to_tsquery(a.ts_config, w.query)
WHERE a.id = ANY(%(ids)s)
ON CONFLICT (watch_id, article_id) DO NOTHING
RETURNING watch_id
"""


@dataclass
class MatchResult:
    articles_matched: int = 0
    alerts_new: int = 0
    watches_matched: int = 0


def match_new_articles(connection: Connection, run_id: int, batch_size: int = 2000) -> MatchResult:
    """Create alerts for articles never matched before, marking them matched in the same commit.

    Claiming with SKIP LOCKED lets concurrent runs share the work; a crash leaves the batch
    unmatched, so the next run picks it up: nothing lost, nothing twice.
    """
    result = MatchResult()
    watches: set[int] = set()
    while True:
        with connection.transaction():
            ids = [row["id"] for row in connection.execute(_CLAIM_BATCH, (batch_size,))]
            if not ids:
                break
            matched = connection.execute(_MATCH, {"run_id": run_id, "ids": ids}).fetchall()
            connection.execute("UPDATE articles SET matched_at = now() WHERE id = ANY(%s)", (ids,))
        result.articles_matched += len(ids)
        result.alerts_new += len(matched)
        watches.update(row["watch_id"] for row in matched)
    result.watches_matched = len(watches)
    return result
