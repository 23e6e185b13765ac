"""One source's crawl, extraction and load as plain calls: what the flow's tasks do, without
Prefect, for benchmarks and tests that must time or inspect exactly these steps."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from flows.config.sources import Source
from flows.extract.pool import extract_pages
from flows.fetch import history
from flows.fetch.crawl import crawl_source
from flows.records import CrawlResult, FetchError, RunSummary
from flows.store import articles, db, runs


def _quiet(line: str) -> None:
    """Drop Scrapy's log lines."""


@dataclass
class SourceRun:
    crawled: CrawlResult
    summary: RunSummary
    errors: list[FetchError] = field(default_factory=list)


def run_source(
    source: Source,
    spool_dir: Path,
    database_url: str,
    scrapy_settings: dict[str, str] | None = None,
    log_line: Callable[[str], None] | None = None,
) -> SourceRun:
    """Crawl incrementally, extract, store, record errors and keep validators, in one run row."""
    with db.connect(database_url) as connection:
        run_id = articles.start_run(connection, [source.name])
    summary = RunSummary(run_id=run_id, sources=[source.name])
    crawled = crawl_source(
        source,
        spool_dir,
        log_line=log_line or _quiet,
        scrapy_settings=scrapy_settings,
        database_url=database_url,
    )
    extracted = extract_pages(crawled.pages, source)
    with db.connect(database_url) as connection:
        stored = articles.store_articles(connection, extracted.articles, run_id)
    _, errors = runs.tally_source(summary, source.name, crawled, extracted, stored)
    with db.connect(database_url) as connection:
        articles.record_errors(connection, run_id, errors)
        history.save_validators(connection, source.name, crawled.validators)
        articles.finish_run(connection, run_id, summary, summary.outcome)
    return SourceRun(crawled=crawled, summary=summary, errors=errors)
