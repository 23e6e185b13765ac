"""Matching: every stored, not yet matched article against every active watch, once per story.

Pairs are found through the watch-term index (flows/match/index.py), never by a nested loop of
`@@` over all watches and articles. A watch matching several copies of one story gets one alert
(unique per watch and story); each recipient gets one delivery per story (unique per recipient
and story), whichever of their watches matched it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from psycopg.rows import DictRow

from flows.match.index import MATCH_PAIRS_SQL, ensure_indexed, hash_joins
from flows.store.db import Connection

# Taking articles off the matching queue (filled by a trigger on insert, see 0003_stories.sql):
# the deletion commits with the batch's alerts, or rolls back with them.
_CLAIM_BATCH = """
DELETE FROM unmatched_articles WHERE article_id IN (
    SELECT article_id FROM unmatched_articles ORDER BY article_id LIMIT %s
    FOR UPDATE SKIP LOCKED
)
RETURNING article_id AS id
"""

# One alert per (watch, story), naming the first matching copy; then one delivery per
# (recipient, story) for each new alert.
_MATCH_TEMPLATE = """
WITH pairs AS ({pairs}),
new_alerts AS (
    INSERT INTO alerts (watch_id, story_id, article_id, run_id)
    SELECT DISTINCT ON (watch_id, story_id) watch_id, story_id, article_id, %(run_id)s
    FROM pairs ORDER BY watch_id, story_id, article_id
    ON CONFLICT (watch_id, story_id) DO NOTHING
    RETURNING id, watch_id, story_id
), new_deliveries AS (
    INSERT INTO deliveries (recipient, story_id, alert_id)
    SELECT DISTINCT ON (r.email, na.story_id) r.email, na.story_id, na.id
    FROM new_alerts na JOIN watch_recipients r ON r.watch_id = na.watch_id
    ORDER BY r.email, na.story_id, na.id
    ON CONFLICT (recipient, story_id) DO NOTHING
    RETURNING id
)
SELECT (SELECT count(*) FROM new_alerts) AS alerts,
       (SELECT count(DISTINCT watch_id) FROM new_alerts) AS watches,
       (SELECT array_agg(DISTINCT watch_id) FROM new_alerts) AS watch_ids,
       (SELECT count(*) FROM new_deliveries) AS deliveries,
       (SELECT count(*) FROM pairs) AS pairs
"""
_MATCH = _MATCH_TEMPLATE.format(pairs=MATCH_PAIRS_SQL)
# The same for one watch only (a backfill over stored articles: other watches saw them already).
_MATCH_ONE_WATCH = _MATCH_TEMPLATE.format(
    pairs=f"SELECT * FROM ({MATCH_PAIRS_SQL}) every_pair WHERE watch_id = %(watch_id)s"
)


@dataclass
class MatchResult:
    articles_matched: int = 0
    alerts_new: int = 0
    watches_matched: int = 0
    deliveries_new: int = 0
    pairs: int = 0


def match_new_articles(connection: Connection, run_id: int, batch_size: int = 2000) -> MatchResult:
    """Create alerts for queued articles, taking them off the queue in the same commit.

    Claiming with SKIP LOCKED lets concurrent runs share the work; a crash leaves the batch
    queued, so the next run picks it up: nothing lost, nothing twice.
    """
    result = MatchResult()
    watches: set[int] = set()
    while True:
        with connection.transaction():
            ids = [row["id"] for row in connection.execute(_CLAIM_BATCH, (batch_size,))]
            if not ids:
                break
            row = _match_batch(connection, _MATCH, {"run_id": run_id, "ids": ids})
        _count(result, ids, row)
        watches.update(row["watch_ids"] or [])
    result.watches_matched = len(watches)
    return result


def match_watch_on(
    connection: Connection, watch_id: int, article_ids: list[int], batch_size: int = 2000
) -> MatchResult:
    """Alert one watch on stored articles, as if they had just arrived (backfill).

    Same statement as a run's matching, limited to the watch: the same once-per-story and
    once-per-recipient guarantees; alerts already made are not made again.
    """
    result = MatchResult()
    for start in range(0, len(article_ids), batch_size):
        ids = article_ids[start : start + batch_size]
        with connection.transaction():
            row = _match_batch(
                connection, _MATCH_ONE_WATCH, {"run_id": None, "ids": ids, "watch_id": watch_id}
            )
        _count(result, ids, row)
        result.watches_matched = max(result.watches_matched, int(row["watches"]))
    return result


def _match_batch(connection: Connection, statement: str, params: dict[str, Any]) -> DictRow:
    """One batch through a matching statement, inside the caller's transaction: the terms of
    the batch's languages indexed first, and hash joins forced (see index.hash_joins)."""
    configs = [
        row["ts_config"]
        for row in connection.execute(
            "SELECT DISTINCT ts_config::text AS ts_config FROM articles WHERE id = ANY(%s)",
            (params["ids"],),
        )
    ]
    ensure_indexed(connection, configs)
    with hash_joins(connection):
        row = connection.execute(statement, params).fetchone()
    assert row is not None
    return row


def _count(result: MatchResult, ids: list[int], row: DictRow) -> None:
    result.articles_matched += len(ids)
    result.alerts_new += int(row["alerts"])
    result.deliveries_new += int(row["deliveries"])
    result.pairs += int(row["pairs"])
