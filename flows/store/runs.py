"""Per-source results of each run: crawl statistics for the dashboards, and the run history
that tells when a source has stored nothing for several runs in a row."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from flows.store.db import Connection

# Scrapy stats counting requests that were deliberately not fetched.
SKIP_STATS = ("dupefilter/filtered", "offsite/filtered", "robotstxt/forbidden")
SKIP_STATS_PREFIX = "newswatch/skipped"
_STATUS_PREFIX = "downloader/response_status_count/"


@dataclass
class SourceRunStats:
    """One source's share of a run, as stored in `source_runs` and shown in the crawl table."""

    source: str
    crawl_ok: bool
    pages_fetched: int = 0
    bytes_received: int = 0
    status_counts: dict[str, int] = field(default_factory=dict)
    errors: int = 0
    skipped: int = 0
    articles_new: int = 0
    articles_duplicate: int = 0
    seconds: float = 0.0


def _as_int(value: object) -> int:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int | float):
        return int(value)
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    return 0


def crawl_figures(stats: dict[str, object]) -> tuple[int, int, dict[str, int], int]:
    """Pages, bytes, HTTP status counts and skipped requests from a crawl's Scrapy stats."""
    statuses = {
        key.removeprefix(_STATUS_PREFIX): _as_int(value)
        for key, value in stats.items()
        if key.startswith(_STATUS_PREFIX)
    }
    skipped = sum(_as_int(stats.get(key)) for key in SKIP_STATS) + sum(
        _as_int(value) for key, value in stats.items() if key.startswith(SKIP_STATS_PREFIX)
    )
    return (
        _as_int(stats.get("response_received_count")),
        _as_int(stats.get("downloader/response_bytes")),
        dict(sorted(statuses.items())),
        skipped,
    )


def record(
    connection: Connection, run_id: int, stats: SourceRunStats, flow_run_id: str | None
) -> None:
    """Store (or, when a retried task repeats it, replace) one source's line for a run."""
    connection.execute(
        """INSERT INTO source_runs (run_id, source, flow_run_id, crawl_ok, pages_fetched,
                                    bytes_received, status_counts, errors, skipped,
                                    articles_new, articles_duplicate, seconds)
           VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
           ON CONFLICT (run_id, source) DO UPDATE SET
               flow_run_id = EXCLUDED.flow_run_id, finished_at = now(),
               crawl_ok = EXCLUDED.crawl_ok, pages_fetched = EXCLUDED.pages_fetched,
               bytes_received = EXCLUDED.bytes_received, status_counts = EXCLUDED.status_counts,
               errors = EXCLUDED.errors, skipped = EXCLUDED.skipped,
               articles_new = EXCLUDED.articles_new,
               articles_duplicate = EXCLUDED.articles_duplicate, seconds = EXCLUDED.seconds""",
        (
            run_id,
            stats.source,
            flow_run_id,
            stats.crawl_ok,
            stats.pages_fetched,
            stats.bytes_received,
            json.dumps(stats.status_counts),
            stats.errors,
            stats.skipped,
            stats.articles_new,
            stats.articles_duplicate,
            stats.seconds,
        ),
    )


def for_run(connection: Connection, run_id: int) -> list[SourceRunStats]:
    rows = connection.execute(
        """SELECT source, crawl_ok, pages_fetched, bytes_received, status_counts, errors,
                  skipped, articles_new, articles_duplicate, seconds
           FROM source_runs WHERE run_id = %s ORDER BY source""",
        (run_id,),
    ).fetchall()
    return [SourceRunStats(**row) for row in rows]


@dataclass(frozen=True)
class IdleStreak:
    """A source's latest consecutive runs that stored nothing; `first_id` names the streak."""

    source: str
    runs: int
    first_id: int


def idle_streak(connection: Connection, source: str, limit: int) -> IdleStreak | None:
    """The source's current run of empty results, looking back at most `limit` runs.

    None when its latest run stored something (or it never ran). The streak is identified by
    its first row, so one streak gets one notice however long it lasts.
    """
    rows = connection.execute(
        "SELECT id, articles_new FROM source_runs WHERE source = %s ORDER BY id DESC LIMIT %s",
        (source, limit),
    ).fetchall()
    idle = []
    for row in rows:
        if row["articles_new"] > 0:
            break
        idle.append(row["id"])
    if not idle:
        return None
    if len(idle) == limit:
        # The streak may have begun before the window: find where it started.
        start = connection.execute(
            """SELECT min(id) AS first_id FROM source_runs
               WHERE source = %s AND id > coalesce(
                   (SELECT max(id) FROM source_runs WHERE source = %s AND articles_new > 0), 0)""",
            (source, source),
        ).fetchone()
        assert start is not None
        return IdleStreak(source, len(idle), int(start["first_id"]))
    return IdleStreak(source, len(idle), min(idle))
