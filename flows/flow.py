"""The Prefect flow: crawl -> extract -> store -> match -> notify, for each selected source."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_table_artifact
from prefect.cache_policies import NO_CACHE
from prefect.runtime import flow_run as current_flow_run

from flows.config.settings import Settings
from flows.config.sources import Source, load_sources
from flows.extract.pool import ExtractionResult, crawl_and_extract
from flows.fetch import history
from flows.fetch.crawl import CrawlFailed
from flows.match import matcher
from flows.notify import admin as admin_notices
from flows.notify import channels, outbox
from flows.notify.links import LinkMaker
from flows.notify.mailer import transport_for
from flows.orchestration import dashboards
from flows.orchestration.hooks import notify_admin_of_failure
from flows.records import Article, CrawlResult, FetchError, RunSummary
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
) -> tuple[CrawlResult, ExtractionResult, store.StoreResult]:
    """Crawl, extract on every core and store as articles come (see pipeline.py).

    Safe to retry: stored URLs are skipped by the next crawl and the store skips copies.
    """
    logger = get_run_logger()
    spool_dir = Path(tempfile.mkdtemp(prefix=f"{source.name}-", dir=spool_root))
    progress = dashboards.CrawlProgress(source.name, log_line=logger.info)
    stored = store.StoreResult()
    settings = Settings()
    with db.connect(database_url) as connection:

        def store_batch(articles: list[Article]) -> None:
            stored.add(store.store_articles(connection, articles, run_id))

        crawled, extracted = crawl_and_extract(
            source,
            spool_dir,
            workers=settings.extract_workers,
            start_method=settings.extract_start_method,
            log_line=progress,
            scrapy_settings=scrapy_settings,
            database_url=database_url,
            on_articles=store_batch,
        )
    progress.finish()
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
        delivered = outbox.deliver_pending(connection, transport_for(settings), settings.mail_from)
        channels.queue_channel_deliveries(connection)
        delivered.errors += [f"channel {e}" for e in channels.deliver_channels(connection).errors]
        return delivered


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
    """
    logger = get_run_logger()
    settings = Settings()
    path = Path(sources_file) if sources_file else settings.sources_file
    sources = load_sources(path, source_names)
    if origin:
        sources = [source.rebased(origin) for source in sources]
    database_url = prepare_database(settings)
    with db.connect(database_url) as connection:
        run_id = store.start_run(connection, [source.name for source in sources])
    summary = RunSummary(run_id=run_id, sources=[source.name for source in sources])
    with tempfile.TemporaryDirectory(prefix="newswatch-spool-") as spool_root:
        crawled_ok = [
            _run_source(
                source, Path(spool_root), scrapy_settings or {}, database_url, run_id, summary
            )
            for source in sources
        ]
    # Every crawl failing is a failed run (retried by the deployment's policy, then Failed).
    status = "completed" if any(crawled_ok) else "failed"
    try:
        matched = match(database_url, run_id)
        summary.alerts_new = matched.alerts_new
        summary.watches_matched = matched.watches_matched
        delivered = send_alerts(database_url, run_id, settings)
        summary.emails_sent = delivered.sent
        summary.errors += [
            {"source": "", "url": "", "reason": f"e-mail: {e}"} for e in delivered.errors
        ]
        if not settings.smtp_configured:
            summary.outbox_dir = str(settings.outbox_dir)
    except Exception as exc:
        status = "failed"
        summary.errors.append({"source": "", "url": "", "reason": f"alerting: {exc}"})
        raise
    finally:
        with db.connect(database_url) as connection:
            store.finish_run(connection, run_id, summary, status)
        _publish(summary)
        _report(database_url, summary, settings)
    logger.info("run %s: %s", run_id, summary.as_dict())
    if status == "failed":
        raise CrawlFailed(f"no source could be crawled: {[e['reason'] for e in summary.errors]}")
    return summary.as_dict()


def _run_source(
    source: Source,
    spool_root: Path,
    scrapy_settings: dict[str, str],
    database_url: str,
    run_id: int,
    summary: RunSummary,
) -> bool:
    """One source's crawl, extraction and load; its failure is recorded and the run goes on.

    Returns whether the crawl itself ran.
    """
    started = time.monotonic()
    errors: list[FetchError] = []
    line = runs.SourceRunStats(source=source.name, crawl_ok=False)
    try:
        crawled, extracted, stored = crawl_extract_store(
            source, spool_root, scrapy_settings, database_url, run_id
        )
    except CrawlFailed as exc:
        errors.append(FetchError(source.name, (source.entry_urls() or [source.name])[0], str(exc)))
        crawled = None
    if crawled is not None:
        line.crawl_ok = True
        line.pages_fetched, line.bytes_received, line.status_counts, line.skipped = (
            runs.crawl_figures(crawled.stats)
        )
        summary.pages_fetched += int(crawled.stats.get("response_received_count", 0) or 0)  # type: ignore[call-overload]
        errors += crawled.errors
        errors += extracted.errors
        errors += stored.errors
        summary.articles_new += len(stored.new_article_ids)
        summary.articles_duplicate += stored.duplicates + extracted.duplicates_in_batch
        summary.count_skipped(crawled.skipped)
        line.articles_new = len(stored.new_article_ids)
        line.articles_duplicate = stored.duplicates + extracted.duplicates_in_batch
    line.errors = len(errors)
    line.seconds = time.monotonic() - started
    with db.connect(database_url) as connection:
        store.record_errors(connection, run_id, errors)
        if crawled is not None:  # pages are stored: their entry points may now answer 304
            history.save_validators(connection, source.name, crawled.validators)
        runs.record(connection, run_id, line, current_flow_run.get_id())
    summary.errors += [
        {"source": error.source, "url": error.url, "reason": error.reason} for error in errors
    ]
    return crawled is not None


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


def _publish(summary: RunSummary) -> None:
    counts = summary.as_dict()
    rows = [
        {"measure": key, "value": str(counts[key])}
        for key in (
            "sources",
            "pages_fetched",
            "articles_new",
            "articles_duplicate",
            "alerts_new",
            "watches_matched",
            "emails_sent",
        )
    ]
    rows.append({"measure": "errors", "value": str(len(summary.errors))})
    create_table_artifact(
        key="newswatch-run-summary",
        table=rows,
        description=f"newswatch run {summary.run_id}",
    )
