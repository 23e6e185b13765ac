"""One tick of the fleet: claim what is due, crawl it all at once, store, match, alert, reschedule.

Plain functions over Postgres and the crawl child, no Prefect: the flow (fleet_flow.py) runs a
tick and publishes what it did; tests and benches call `run_tick` directly. A tick makes passes
until its time is up: each pass leases the due sources (shards.claim_due), crawls them in one
Scrapy process with one extraction pool (flows.fetch.fleet), stores articles as they come,
matches and sends alerts for that pass at once (a story's alert must not wait for the tick's
end), then records each source's run line, errors and validators, schedules each polled entry
point (flows.fetch.polling) and gives the leases back. Between passes it sleeps until the next
source falls due. One broken source is one source's error line, never the tick's failure.
"""

from __future__ import annotations

import re
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from flows.config.settings import Settings
from flows.config.sources import Source
from flows.fetch import history, polling
from flows.fetch.crawl import CrawlFailed
from flows.fetch.fleet import SourceOutcome, crawl_fleet
from flows.fetch.polite import retry_after_seconds
from flows.match import matcher
from flows.notify import outbox
from flows.notify.mailer import Transport, transport_for
from flows.orchestration import shards
from flows.records import Article, RunSummary
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

    @property
    def sources_polled(self) -> int:
        return len(self.polled)

    @property
    def sources_with_news(self) -> list[SourceTick]:
        return [line for line in self.polled if line.articles_new > 0]


def run_tick(
    sources: list[Source],
    database_url: str,
    settings: Settings,
    shard_ids: list[int] | None = None,
    scrapy_settings: dict[str, str] | None = None,
    transport: Transport | None = None,
    max_seconds: float | None = None,
    max_passes: int | None = None,
    log_line: Callable[[str], None] = print,
    sleep: Callable[[float], None] = time.sleep,
) -> TickSummary:
    """Poll what is due among `sources` (of `shard_ids`, all when None) for `max_seconds`."""
    deadline = time.monotonic() + (max_seconds or settings.fleet_tick_seconds)
    by_name = {source.name: source for source in sources}
    names = sorted(by_name)
    owner = shards.lease_owner()
    summary = TickSummary()
    mail = transport or transport_for(settings)
    with db.connect(database_url) as connection:
        shards.sync_sources(connection, sources, settings.fleet_shards)
        polling.ensure_entries(connection, sources)
    while time.monotonic() < deadline and (max_passes is None or summary.passes < max_passes):
        with db.connect(database_url) as connection:
            claimed = shards.claim_due(
                connection,
                names,
                shard_ids,
                owner,
                settings.fleet_lease_seconds,
                settings.fleet_pass_limit,
            )
            if not claimed:
                wait = shards.next_due_in(connection, names, shard_ids)
        if not claimed:
            left = deadline - time.monotonic()
            if wait is None or wait >= left:
                break
            sleep(max(wait, 0.5))
            continue
        summary.passes += 1
        _poll_pass(
            [by_name[name] for name in claimed],
            database_url,
            settings,
            owner,
            scrapy_settings,
            mail,
            summary,
            log_line,
        )
    return summary


def _poll_pass(
    claimed: list[Source],
    database_url: str,
    settings: Settings,
    owner: str,
    scrapy_settings: dict[str, str] | None,
    transport: Transport,
    summary: TickSummary,
    log_line: Callable[[str], None],
) -> None:
    started = time.time()
    names = [source.name for source in claimed]
    with db.connect(database_url) as connection:
        due = polling.due_entries(connection, names, slack_seconds=30.0)
        run_id = store.start_run(connection, names)
    polled = [polling.restricted(source, due) for source in claimed]
    summary.run_ids.append(run_id)
    log_line(f"run {run_id}: polling {len(polled)} sources")
    run_summary = RunSummary(run_id=run_id, sources=names)
    crawl_settings = {
        "NEWSWATCH_FLEET_CONCURRENCY": str(settings.fleet_crawl_concurrency),
        **(scrapy_settings or {}),
    }
    outcomes: dict[str, SourceOutcome] = {}
    with (
        db.connect(database_url) as connection,
        tempfile.TemporaryDirectory(prefix="newswatch-fleet-") as spool,
    ):

        def store_batch(batch: list[Article]) -> None:
            stored = store.store_articles(connection, batch, run_id)
            connection.commit()
            run_summary.articles_new += len(stored.new_article_ids)
            run_summary.articles_duplicate += stored.duplicates

        try:
            fleet = crawl_fleet(
                polled,
                Path(spool),
                database_url,
                workers=settings.extract_workers,
                log_line=log_line,
                scrapy_settings=crawl_settings,
                on_articles=store_batch,
                start_method=settings.extract_start_method,
            )
            outcomes = fleet.outcomes
        except CrawlFailed as exc:  # the child could not even start: every source failed
            summary.errors.append(str(exc))
    _alert(database_url, run_id, settings, transport, run_summary, summary)
    with db.connect(database_url) as connection:
        results = []
        for source in polled:
            outcome = outcomes.get(source.name) or SourceOutcome(source, None)
            line, result = _record_source(connection, run_id, source, outcome, started, settings)
            summary.polled.append(line)
            results.append(result)
            run_summary.pages_fetched += line.pages
            run_summary.errors += outcome.errors
            if result.error is not None:
                run_summary.failed_sources.append(source.name)
        shards.release(connection, owner, results)
        store.finish_run(connection, run_id, run_summary, run_summary.outcome)
    summary.articles_new += run_summary.articles_new
    log_line(
        f"run {run_id}: {len(polled)} sources, {run_summary.articles_new} new articles,"
        f" {run_summary.alerts_new} alerts, {run_summary.emails_sent} e-mails"
        f" in {time.time() - started:.1f} s"
    )


def _alert(
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
    run_summary.alerts_new = matched.alerts_new
    run_summary.watches_matched = matched.watches_matched
    run_summary.emails_sent = delivered.sent
    summary.alerts_new += matched.alerts_new
    summary.emails_sent += delivered.sent
    summary.errors += [f"e-mail: {error}" for error in delivered.errors]


def _record_source(
    connection: db.Connection,
    run_id: int,
    source: Source,
    outcome: SourceOutcome,
    started: float,
    settings: Settings,
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
    line.seconds = now - started
    store.record_errors(connection, run_id, outcome.errors)
    if outcome.crawl_ok and crawled is not None:
        history.save_validators(connection, source.name, crawled.validators)
    runs.record(connection, run_id, line, None)
    fixed = settings.poll_fixed_seconds if settings.poll_policy == "fixed" else None
    polls = [
        polling.EntryPoll(url, tuple(outcome.published_by_entry.get(url, ())))
        for url in source.entry_urls()
    ]
    next_at = polling.record_entry_polls(connection, source, polls, now, fixed)
    error = _source_error(outcome, line.status_counts)
    not_before = _not_before(outcome, now)
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


def _source_error(outcome: SourceOutcome, statuses: dict[str, int]) -> str | None:
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


def _not_before(outcome: SourceOutcome, now: float) -> float | None:
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
