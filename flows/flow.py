"""The Prefect flow: crawl -> extract -> store -> match -> notify, for each selected source."""

from __future__ import annotations

import contextlib
import shutil
import time
from pathlib import Path
from typing import Any, cast
from uuid import UUID

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.client.schemas.objects import State
from prefect.runtime import flow_run as current_flow_run
from prefect.states import Completed, Failed

from flows import console
from flows.config.settings import Settings
from flows.config.sources import Source, load_sources
from flows.extract.pool import ExtractionResult, crawl_and_extract
from flows.fetch import history
from flows.fetch.crawl import CrawlFailed
from flows.fetch.crawl_log import CrawlLogRelay
from flows.match import matcher
from flows.notify import admin as admin_notices
from flows.notify import channels, outbox
from flows.notify.links import LinkMaker
from flows.notify.mailer import transport_for
from flows.orchestration import dashboards
from flows.orchestration.hooks import notify_admin_of_failure
from flows.records import (
    COMPLETED_WITH_ERRORS,
    FAILED,
    Article,
    CrawlResult,
    FetchError,
    RunSummary,
    SeenCopy,
)
from flows.store import articles as store
from flows.store import db, runs


@task(retries=2, retry_delay_seconds=2, cache_policy=NO_CACHE)
def prepare_database(settings: Settings) -> str:
    return db.prepare(settings)


@task(retries=1, retry_delay_seconds=5, cache_policy=NO_CACHE)
def crawl_extract_store(
    source: Source,
    spool_root: Path,
    scrapy_settings: dict[str, str],
    database_url: str,
    run_id: int,
    settings: Settings,
) -> tuple[CrawlResult, ExtractionResult, store.StoreResult]:
    """Crawl, extract on every core and store as articles come (see flows/extract/pool.py).

    Safe to retry: stored URLs are skipped by the next crawl and the store skips copies.
    """
    logger = get_run_logger()
    spool_root.mkdir(parents=True, exist_ok=True)
    spool_dir = spool_root / f"{source.name}-{int(time.time() * 1000)}"
    relay = CrawlLogRelay(logger, source.name)
    stored = store.StoreResult()
    line = console.Stage(f"{source.name}: crawl, extract")

    def on_progress(values: dict[str, float]) -> None:
        line.advance(values.get("pages", 0.0), f"{int(values.get('pages', 0))} pages")

    progress = dashboards.CrawlProgress(source.name, log_line=relay, on_values=on_progress)
    try:
        with db.connect(database_url) as connection:

            def store_batch(articles: list[Article]) -> None:
                stored.add(store.store_articles(connection, articles, run_id))
                line.advance(line.done, f"{len(stored.new_article_ids)} new articles")

            def remember_copies(copies: list[SeenCopy]) -> None:
                store.remember_copies(connection, copies)

            crawled, extracted = crawl_and_extract(
                source,
                spool_dir,
                workers=settings.extract_workers,
                start_method=settings.extract_start_method,
                log_line=progress,
                scrapy_settings=scrapy_settings,
                database_url=database_url,
                on_articles=store_batch,
                on_copies=remember_copies,
            )
    except BaseException as exc:
        relay.close()
        progress.fail(f"{type(exc).__name__}: {exc}")
        line.finish(ok=False, note=str(exc)[:60])
        raise
    finally:
        shutil.rmtree(spool_dir, ignore_errors=True)
    relay.close()
    errors = len(crawled.errors) + len(extracted.errors) + len(stored.errors)
    pages, _, statuses, _ = runs.crawl_figures(crawled.stats)
    note = f"{pages} pages, {len(stored.new_article_ids)} new, {errors} errors"
    if errors and not any(int(code) < 400 for code in statuses if code.isdigit()):
        progress.fail(f"every request failed, {errors} errors")
        line.finish(ok=False, note=f"FAILED: {note}")
    else:
        progress.finish(errors)
        line.finish(ok=True, note=note)
    return crawled, extracted, stored


@task(retries=2, retry_delay_seconds=2, cache_policy=NO_CACHE)
def match(database_url: str, run_id: int) -> matcher.MatchResult:
    with db.connect(database_url) as connection:
        return matcher.match_new_articles(connection, run_id)


@task(retries=2, retry_delay_seconds=5, cache_policy=NO_CACHE)
def send_alerts(database_url: str, run_id: int, settings: Settings) -> outbox.DeliveryResult:
    with db.connect(database_url) as connection:
        outbox.queue_emails(
            connection, run_id, settings.mail_from, links=LinkMaker.from_settings(settings)
        )
        delivered = outbox.deliver_pending(
            connection,
            transport_for(settings),
            settings.mail_from,
            run_id=run_id,
            max_attempts=settings.max_send_attempts,
        )
        channels.queue_channel_deliveries(connection)
        delivered.errors += [f"channel {e}" for e in channels.deliver_channels(connection).errors]
        return delivered


def _run_label(source_names: list[str] | None) -> str:
    return "+".join(source_names) if source_names else "all sources"


@flow(
    name="newswatch-monitor",
    log_prints=True,
    on_failure=[notify_admin_of_failure],
    on_crashed=[notify_admin_of_failure],
)
def monitor(
    sources_file: str | None = None,
    source_names: list[str] | None = None,
    origin: str | None = None,
    scrapy_settings: dict[str, str] | None = None,
) -> dict[str, object]:
    """Run every selected source once and alert watchers of what is new.

    `origin` serves the sources from another host (a staging copy, or the local test site);
    `scrapy_settings` overrides Scrapy settings for this run (like `scrapy crawl -s`).
    The run ends Completed, "Completed with errors" (a source failed, or e-mails stayed
    unsent) or Failed (no source could be crawled); the summary is the state's result.
    """
    logger = get_run_logger()
    settings = Settings()  # resolved once per run, passed down from here
    path = Path(sources_file) if sources_file else settings.sources_file
    sources = load_sources(path, source_names)
    if origin:
        sources = [source.rebased(origin) for source in sources]
    overrides = {"USER_AGENT": settings.resolved_user_agent, **(scrapy_settings or {})}
    with console.stage("database"):
        database_url = prepare_database(settings)
        with db.connect(database_url) as connection:
            closed = store.close_abandoned_runs(connection, settings.run_scratch_root)
            run_id = store.start_run(connection, [source.name for source in sources])
    if closed:
        logger.warning("runs left unfinished by a killed process marked crashed: %s", closed)
    _rename_flow_run(f"{_run_label([s.name for s in sources])} #{run_id}")
    summary = RunSummary(run_id=run_id, sources=[source.name for source in sources])
    scratch = settings.run_scratch_root / str(run_id)
    try:
        for source in sources:
            _run_source(
                source, scratch / "spool", overrides, database_url, run_id, summary, settings
            )
        _alert(database_url, run_id, summary, settings)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
        with db.connect(database_url) as connection:
            store.finish_run(connection, run_id, summary, summary.outcome)
        _report(database_url, summary, settings)
    counts = summary.as_dict()
    logger.info("run %s: %s", run_id, {k: v for k, v in counts.items() if k != "errors"})
    message = _state_message(summary)
    if summary.outcome == FAILED:
        logger.error(message)
        state: State[Any] = Failed(message=message, data=counts)
    elif summary.outcome == COMPLETED_WITH_ERRORS:
        logger.warning(message)
        state = Completed(name="Completed with errors", message=message, data=counts)
    else:
        state = Completed(message=message, data=counts)
    # Prefect makes a returned state the run's own; a plain call gets its data (the summary).
    return cast("dict[str, object]", state)


def _state_message(summary: RunSummary) -> str:
    text = (
        f"run {summary.run_id}: {summary.articles_new} new articles, {summary.alerts_new} alerts,"
        f" {summary.emails_sent} e-mails, {len(summary.errors)} errors"
    )
    if summary.failed_sources:
        text += f"; failed sources: {', '.join(summary.failed_sources)}"
        first = next((e for e in summary.errors if e.source in summary.failed_sources), None)
        if first is not None:
            text += f" (first error: {first.reason[:200]})"
    if summary.alerting_failed:
        text += "; alerting did not finish"
    return text


def _rename_flow_run(name: str) -> None:
    """Name the run after what it ran (`daily8 #7`): the UI's list then says it."""
    flow_run_id = current_flow_run.get_id()
    if not flow_run_id:
        return
    from prefect.client.orchestration import get_client

    try:
        with get_client(sync_client=True) as client:
            client.update_flow_run(UUID(str(flow_run_id)), name=name)
    except Exception:  # a cosmetic rename must not fail the run
        get_run_logger().warning("could not rename the flow run to %r", name)


def _alert(database_url: str, run_id: int, summary: RunSummary, settings: Settings) -> None:
    """Matching and e-mail; a failure here is recorded, the run still finishes and reports."""
    try:
        with console.stage("match watches") as line:
            matched = match(database_url, run_id)
            line.finish(note=f"{matched.alerts_new} alerts for {matched.watches_matched} watches")
        summary.alerts_new = matched.alerts_new
        summary.watches_matched = matched.watches_matched
        with console.stage("send e-mails") as line:
            delivered = send_alerts(database_url, run_id, settings)
            line.finish(
                ok=not delivered.errors,
                note=f"{delivered.sent} sent"
                + (f", {delivered.failed} failed" if delivered.failed else ""),
            )
        summary.errors += [FetchError("", "", f"e-mail: {e}") for e in delivered.errors]
        if delivered.errors:
            summary.alerting_failed = True
        if not settings.smtp_configured:
            summary.outbox_dir = str(settings.outbox_dir)
    except Exception as exc:
        summary.alerting_failed = True
        summary.errors.append(FetchError("", "", f"alerting: {type(exc).__name__}: {exc}"))
        get_run_logger().exception("alerting failed")
    with db.connect(database_url) as connection:
        # Counted from Postgres: a retried task's earlier attempts sent e-mails too.
        summary.emails_sent = outbox.sent_by_run(connection, run_id)


def _run_source(
    source: Source,
    spool_root: Path,
    scrapy_settings: dict[str, str],
    database_url: str,
    run_id: int,
    summary: RunSummary,
    settings: Settings,
) -> None:
    """One source's crawl, extraction and load; its failure is recorded and the run goes on."""
    started = time.monotonic()
    failures: list[FetchError] = []
    crawled: CrawlResult | None = None
    extracted: ExtractionResult | None = None
    stored: store.StoreResult | None = None
    try:
        crawled, extracted, stored = crawl_extract_store(
            source, spool_root, scrapy_settings, database_url, run_id, settings
        )
    except CrawlFailed as exc:
        failures.append(
            FetchError(source.name, (source.entry_urls() or [source.name])[0], str(exc))
        )
    except Exception as exc:  # storing failed (the database went away): this source only
        failures.append(
            FetchError(source.name, "", f"crawl or store failed: {type(exc).__name__}: {exc}")
        )
    with db.connect(database_url) as connection:
        # Counted from Postgres: a retried task's earlier attempt stored articles too.
        in_database = store.articles_of_run(connection, run_id, source.name)
        line, errors = runs.tally_source(
            summary,
            source.name,
            crawled,
            extracted,
            stored,
            failures,
            seconds=time.monotonic() - started,
            articles_stored=in_database,
        )
        store.record_errors(connection, run_id, errors)
        if crawled is not None:  # pages are stored: their entry points may now answer 304
            history.save_validators(connection, source.name, crawled.validators)
        runs.record(connection, run_id, line, current_flow_run.get_id())


def _report(database_url: str, summary: RunSummary, settings: Settings) -> None:
    """Dashboards in the UI, idle-source notices and a retry of kept admin notices; a problem
    here is logged, not raised, so it cannot mask the run's own outcome."""
    logger = get_run_logger()
    try:
        with db.connect(database_url) as connection:
            dashboards.publish_run(connection, summary.as_dict())
            notified = admin_notices.check_idle_sources(connection, settings, summary.sources)
            resent = admin_notices.retry_kept(connection, settings)
    except Exception:
        logger.exception("publishing the run's dashboards or notices failed")
        return
    if notified:
        logger.warning("admin notified: no new articles lately from %s", ", ".join(notified))
    if resent:
        logger.info("admin notices sent on retry: %s", ", ".join(resent))


def summary_of(state: State[Any]) -> dict[str, Any] | None:
    """The run summary a finished monitor run carries, whatever its state (None if it has none)."""
    with contextlib.suppress(Exception):
        result = state.result(raise_on_failure=False)
        if isinstance(result, dict):
            return result
    return None
