"""The Prefect flow: crawl -> extract -> store -> match -> notify, for each selected source."""

from __future__ import annotations

import tempfile
from pathlib import Path

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_table_artifact
from prefect.cache_policies import NO_CACHE

from flows import alerts, db, notify, store
from flows.crawl import CrawlFailed
from flows.mailer import transport_for
from flows.models import CrawlResult, FetchError, RunSummary
from flows.pipeline import ExtractionResult, crawl_and_extract
from flows.settings import Settings
from flows.sources import Source, load_sources


@task(retries=2, retry_delay_seconds=2, cache_policy=NO_CACHE)
def prepare_database(settings: Settings) -> str:
    return db.prepare(settings)


@task(retries=1, retry_delay_seconds=5, cache_policy=NO_CACHE)
def crawl_extract(
    source: Source, spool_root: Path, scrapy_settings: dict[str, str]
) -> tuple[CrawlResult, ExtractionResult]:
    """Crawl, extracting pages on every core while the crawl goes on (see pipeline.py)."""
    logger = get_run_logger()
    spool_dir = Path(tempfile.mkdtemp(prefix=f"{source.name}-", dir=spool_root))
    return crawl_and_extract(
        source,
        spool_dir,
        workers=Settings().extract_workers,
        log_line=logger.info,
        scrapy_settings=scrapy_settings,
    )


@task(retries=2, retry_delay_seconds=2, cache_policy=NO_CACHE)
def load(database_url: str, extraction: ExtractionResult, run_id: int) -> store.StoreResult:
    with db.connect(database_url) as connection:
        return store.store_articles(connection, extraction.articles, run_id)


@task(retries=2, retry_delay_seconds=2, cache_policy=NO_CACHE)
def match(database_url: str, run_id: int) -> alerts.MatchResult:
    with db.connect(database_url) as connection:
        return alerts.match_new_articles(connection, run_id)


@task(retries=2, retry_delay_seconds=5, cache_policy=NO_CACHE)
def send_alerts(database_url: str, run_id: int, settings: Settings) -> notify.DeliveryResult:
    with db.connect(database_url) as connection:
        notify.queue_emails(connection, run_id)
        return notify.deliver_pending(connection, transport_for(settings), settings.mail_from)


@flow(name="newswatch-monitor", log_prints=True)
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
    status = "completed"
    with tempfile.TemporaryDirectory(prefix="newswatch-spool-") as spool_root:
        for source in sources:
            _run_source(
                source, Path(spool_root), scrapy_settings or {}, database_url, run_id, summary
            )
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
    logger.info("run %s: %s", run_id, summary.as_dict())
    return summary.as_dict()


def _run_source(
    source: Source,
    spool_root: Path,
    scrapy_settings: dict[str, str],
    database_url: str,
    run_id: int,
    summary: RunSummary,
) -> None:
    """One source's crawl, extraction and load; its failure is recorded and the run goes on."""
    errors: list[FetchError] = []
    try:
        crawled, extracted = crawl_extract(source, spool_root, scrapy_settings)
    except CrawlFailed as exc:
        errors.append(FetchError(source.name, source.start_urls[0], str(exc)))
        crawled = None
    if crawled is not None:
        summary.pages_fetched += int(crawled.stats.get("response_received_count", 0) or 0)  # type: ignore[call-overload]
        errors += crawled.errors
        errors += extracted.errors
        stored = load(database_url, extracted, run_id)
        errors += stored.errors
        summary.articles_new += len(stored.new_article_ids)
        summary.articles_duplicate += stored.duplicates + extracted.duplicates_in_batch
    with db.connect(database_url) as connection:
        store.record_errors(connection, run_id, errors)
    summary.errors += [
        {"source": error.source, "url": error.url, "reason": error.reason} for error in errors
    ]


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
