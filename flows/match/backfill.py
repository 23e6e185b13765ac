"""Backfill: a new or changed watch alerts on the matching stories already stored.

Without it a new watch sends nothing until a new story arrives. The stories are found by the
search predicate (flows/match/search.py) and alerted through the matcher's own statement
(`match_watch_on`), so each story still reaches each recipient once, and only stories a run
would have alerted on: never a muted watch, never one already sent.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from flows.match.matcher import MatchResult, match_watch_on
from flows.match.search import checked_watch_query, matching_article_ids
from flows.match.watches import Watch, WatchError
from flows.store.articles import TS_CONFIGS
from flows.store.db import Connection

MAX_BACKFILL = timedelta(days=365)
_SPAN = re.compile(r"^\s*(\d{1,4})\s*([hdw])\s*$")


def parse_span(text: str) -> timedelta:
    """ "7d", "24h", "2w" as a duration (at most a year); WatchError for anything else."""
    found = _SPAN.match(text.lower())
    if not found:
        raise WatchError(
            f"backfill {text!r}: expected a number of hours, days or weeks: 24h, 7d, 2w"
        )
    amount, unit = int(found.group(1)), found.group(2)
    span = {
        "h": timedelta(hours=amount),
        "d": timedelta(days=amount),
        "w": timedelta(weeks=amount),
    }[unit]
    if span > MAX_BACKFILL:
        raise WatchError("backfill is limited to a year")
    return span


def backfill(
    connection: Connection, watch: Watch, span: timedelta, now: datetime | None = None
) -> MatchResult:
    """Alert `watch` on what was stored in the last `span`; what was alerted before stays once."""
    since = (now or datetime.now(UTC)) - span
    ts_config = None
    if watch.language:
        ts_config = "simple" if watch.language == "simple" else TS_CONFIGS[watch.language]
    checked = checked_watch_query(connection, watch.query, watch.language, ts_config)
    article_ids = matching_article_ids(connection, checked, since)
    return match_watch_on(connection, watch.id, article_ids)
