"""What a tick records of each finished poll: its run line, errors, validators, the next poll of
each entry point, a failing source's back-off and a server's Retry-After; and the alerting pass
that matches and mails what the tick stored. Plain functions over Postgres, called by
flows.orchestration.fleet_tick.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field

from flows.config.settings import Settings
from flows.config.sources import Source
from flows.fetch import history, polling
from flows.fetch.fleet import SourceOutcome
from flows.fetch.polite import retry_after_seconds
from flows.match import matcher
from flows.notify import outbox
from flows.notify.mailer import Transport
from flows.orchestration import shards
from flows.records import RunSummary
from flows.store import articles as store
from flows.store import db, runs

MAX_NOT_BEFORE = 6 * 3600.0  # a Retry-After longer than this is capped
_RETRY_AFTER = re.compile(r"Retry-After: ([^)]+)\)")


@dataclass
class SourceTick:
    """One source's poll in a tick, for the run's artifact and the CLI."""

    source: str
    run_id: int
    crawl_ok: bool
    entry_points: int
    pages: int
    articles_new: int
    errors: int
    next_poll_in: float | None
    error: str | None = None


@dataclass
class TickSummary:
    passes: int = 0
    run_ids: list[int] = field(default_factory=list)
    polled: list[SourceTick] = field(default_factory=list)
    articles_new: int = 0
    alerts_new: int = 0
    emails_sent: int = 0
    errors: list[str] = field(default_factory=list)
    probed_unchanged: int = 0  # polls a probe answered (every entry point 304), no crawl

    @property
    def sources_polled(self) -> int:
        return len(self.polled)

    @property
    def sources_with_news(self) -> list[SourceTick]:
        return [line for line in self.polled if line.articles_new > 0]


def alert_run(
    database_url: str,
    run_id: int,
    settings: Settings,
    transport: Transport,
    run_summary: RunSummary,
    summary: TickSummary,
) -> None:
    try:
        with db.connect(database_url) as connection:
            matched = matcher.match_new_articles(connection, run_id)
            outbox.queue_emails(connection, run_id, settings.mail_from)
            delivered = outbox.deliver_pending(connection, transport, settings.mail_from)
    except Exception as exc:  # alerts stay queued in Postgres: the next pass sends them
        summary.errors.append(f"alerting: {type(exc).__name__}: {exc}")
        run_summary.alerting_failed = True
        return
    run_summary.alerts_new += matched.alerts_new
    run_summary.watches_matched = max(run_summary.watches_matched, matched.watches_matched)
    run_summary.emails_sent += delivered.sent
    summary.alerts_new += matched.alerts_new
    summary.emails_sent += delivered.sent
    summary.errors += [f"e-mail: {error}" for error in delivered.errors]


def record_source(
    connection: db.Connection,
    run_id: int,
    source: Source,
    outcome: SourceOutcome,
    settings: Settings,
    scale: float | None = None,
) -> tuple[SourceTick, shards.PollResult]:
    now = time.time()
    line = runs.SourceRunStats(source=source.name, crawl_ok=outcome.crawl_ok)
    crawled = outcome.crawled
    if crawled is not None:
        line.pages_fetched, line.bytes_received, line.status_counts, line.skipped = (
            runs.crawl_figures(crawled.stats)
        )
    line.articles_new = len(outcome.articles)
    line.articles_duplicate = outcome.duplicates_in_batch
    line.errors = len(outcome.errors)
    line.seconds = outcome.seconds
    store.record_errors(connection, run_id, outcome.errors)
    if outcome.crawl_ok and crawled is not None:
        history.save_validators(connection, source.name, crawled.validators)
    runs.add_poll(connection, run_id, line)
    fixed = settings.poll_fixed_seconds if settings.poll_policy == "fixed" else None
    polls = [
        polling.EntryPoll(url, tuple(outcome.published_by_entry.get(url, ())))
        for url in source.entry_urls()
    ]
    next_at = polling.record_entry_polls(connection, source, polls, now, fixed, scale)
    error = source_error(outcome, line.status_counts)
    not_before = not_before_of(outcome, now)
    if error is not None and next_at is not None and not_before is None:
        # A failing source backs off by its error streak, up to its ceiling.
        row = connection.execute(
            "SELECT error_streak FROM source_polls WHERE source = %s", (source.name,)
        ).fetchone()
        streak = int(row["error_streak"]) if row else 0
        back_off = min(source.poll_min_seconds * 2 ** (streak + 1), source.poll_max_seconds)
        next_at = max(next_at, now + back_off)
    tick = SourceTick(
        source=source.name,
        run_id=run_id,
        crawl_ok=outcome.crawl_ok,
        entry_points=len(polls),
        pages=line.pages_fetched,
        articles_new=line.articles_new,
        errors=line.errors,
        next_poll_in=(next_at - now) if next_at is not None else None,
        error=error,
    )
    result = shards.PollResult(
        source=source.name,
        next_poll_at=next_at,
        had_news=line.articles_new > 0,
        error=error,
        not_before=not_before,
    )
    return tick, result


def source_error(outcome: SourceOutcome, statuses: dict[str, int]) -> str | None:
    """Why the source could not be polled at all; None when an entry point answered."""
    if not outcome.crawl_ok:
        return outcome.crawler_error or "the crawl did not report"
    answered = sum(count for status, count in statuses.items() if status in ("200", "304"))
    if answered == 0 and outcome.errors:
        return outcome.errors[0].reason
    if answered == 0:
        return "no entry point answered"
    if outcome.errors and not outcome.articles and not outcome.pages_by_entry:
        feed_errors = [e for e in outcome.errors if "unreadable" in e.reason]
        if feed_errors:
            return feed_errors[0].reason
    return None


def not_before_of(outcome: SourceOutcome, now: float) -> float | None:
    """When the server said to come back (the longest Retry-After it sent), capped."""
    if not any("Retry-After" in error.reason for error in outcome.errors):
        return None
    waits = []
    for error in outcome.errors:
        found = _RETRY_AFTER.search(error.reason)
        if found:
            seconds = retry_after_seconds(found.group(1), now)
            if seconds is not None:
                waits.append(min(seconds, MAX_NOT_BEFORE))
    return now + max(waits) if waits else None
