"""Run bookkeeping, in one place: what each source's stages reported is added up here into the
run's summary and the source's line (`source_runs`), for the flow, the benches and a plain
`scrapy crawl` alike; and the run history that tells when a source has stored nothing for
several runs in a row."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from flows.fetch.polite import skipped_from_stats, stat_int
from flows.records import CrawlResult, FetchError, RunSummary
from flows.store.db import Connection

if TYPE_CHECKING:
    from flows.extract.pool import ExtractionResult
    from flows.store.articles import StoreResult

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

    @property
    def failed(self) -> bool:
        """The crawl did not run, or every request it made failed (no answer below 400)."""
        if not self.crawl_ok:
            return True
        answered = sum(n for code, n in self.status_counts.items() if stat_int(code) < 400)
        return self.errors > 0 and answered == 0


def tally_source(
    summary: RunSummary,
    source: str,
    crawled: CrawlResult | None,
    extracted: ExtractionResult | None = None,
    stored: StoreResult | None = None,
    failures: list[FetchError] | None = None,
    seconds: float = 0.0,
    articles_stored: int | None = None,
) -> tuple[SourceRunStats, list[FetchError]]:
    """Add one source's share of a run to `summary`; return its line and all its errors.

    `crawled` is None when the crawl itself failed (`failures` says why). `articles_stored`,
    counted in Postgres, wins over `stored`: a retried task's first attempt stored some too.
    """
    errors = list(failures or [])
    line = SourceRunStats(source=source, crawl_ok=crawled is not None, seconds=seconds)
    if crawled is not None:
        line.pages_fetched, line.bytes_received, line.status_counts, line.skipped = crawl_figures(
            crawled.stats
        )
        summary.pages_fetched += line.pages_fetched
        summary.count_skipped(crawled.skipped or skipped_from_stats(crawled.stats))
        errors += crawled.errors
    if extracted is not None:
        errors += extracted.errors
        line.articles_duplicate += extracted.duplicates_in_batch
    if stored is not None:
        errors += stored.errors
        line.articles_new += len(stored.new_article_ids)
        line.articles_duplicate += stored.duplicates
    if articles_stored is not None:
        line.articles_new = articles_stored
    line.errors = len(errors)
    summary.articles_new += line.articles_new
    summary.articles_duplicate += line.articles_duplicate
    summary.errors += errors
    if line.failed:
        summary.failed_sources.append(source)
    return line, errors


def crawl_figures(stats: dict[str, object]) -> tuple[int, int, dict[str, int], int]:
    """Pages, bytes, HTTP status counts and skipped requests from a crawl's Scrapy stats."""
    statuses = {
        key.removeprefix(_STATUS_PREFIX): stat_int(value)
        for key, value in stats.items()
        if key.startswith(_STATUS_PREFIX)
    }
    skipped = sum(skipped_from_stats(stats).values())
    return (
        stat_int(stats.get("response_received_count")),
        stat_int(stats.get("downloader/response_bytes")),
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


def add_poll(connection: Connection, run_id: int, stats: SourceRunStats) -> None:
    """Add one poll of a source to its line for a run: a fleet tick is one run, and polls a
    busy source more than once."""
    connection.execute(
        """INSERT INTO source_runs (run_id, source, crawl_ok, pages_fetched, bytes_received,
                                    status_counts, errors, skipped, articles_new,
                                    articles_duplicate, seconds)
           VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
           ON CONFLICT (run_id, source) DO UPDATE SET
               finished_at = now(), crawl_ok = EXCLUDED.crawl_ok,
               pages_fetched = source_runs.pages_fetched + EXCLUDED.pages_fetched,
               bytes_received = source_runs.bytes_received + EXCLUDED.bytes_received,
               status_counts = EXCLUDED.status_counts,
               errors = source_runs.errors + EXCLUDED.errors,
               skipped = source_runs.skipped + EXCLUDED.skipped,
               articles_new = source_runs.articles_new + EXCLUDED.articles_new,
               articles_duplicate = source_runs.articles_duplicate + EXCLUDED.articles_duplicate,
               seconds = source_runs.seconds + EXCLUDED.seconds""",
        (
            run_id,
            stats.source,
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
