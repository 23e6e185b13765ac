"""Item pipeline for a plain `scrapy crawl SOURCE`: extract and store as the flow would.

Pages are batched and each batch is extracted and stored in a worker thread (deferToThread), so
the reactor keeps fetching meanwhile. The run is recorded in `runs`, its errors in
`fetch_errors`, exactly like a flow run; matching and alerts happen at the next `newswatch run`.
Off when the flow runs the crawl (NEWSWATCH_SPOOL_DIR set): the flow extracts from the spool.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from scrapy import Spider
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from twisted.internet.defer import Deferred, DeferredList
from twisted.internet.threads import deferToThread

from flows.config.sources import Source
from flows.extract.pool import ExtractionResult
from flows.fetch.polite import skipped_from_stats
from flows.records import COMPLETED, FAILED, CrawlResult, FetchedPage, FetchError, RunSummary
from flows.store import articles, db, runs
from spiders.database import crawl_database_url
from spiders.items import FetchErrorItem, PageItem


class IngestPipeline:
    def __init__(self, crawler: Crawler, database_url: str, batch_size: int) -> None:
        self.crawler = crawler
        self.database_url = database_url
        self.batch_size = batch_size
        self.batch: list[FetchedPage] = []
        self.errors: list[FetchError] = []
        self.pending: list[Deferred[Any]] = []
        self.summary = RunSummary()
        self.extracted: list[ExtractionResult] = []
        self.stored = articles.StoreResult()
        self.run_id: int | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> IngestPipeline:
        if crawler.settings.get("NEWSWATCH_SPOOL_DIR"):
            raise NotConfigured("the flow extracts and stores from the spool")
        url = crawl_database_url(crawler.settings)
        if url is None:
            raise NotConfigured("no database to store into")
        return cls(crawler, url, crawler.settings.getint("NEWSWATCH_INGEST_BATCH", 25))

    @property
    def source(self) -> Source:
        source: Source = self.crawler.spider.source  # type: ignore[union-attr]
        return source

    def open_spider(self, spider: Spider | None = None) -> None:
        db.migrate(self.database_url)
        with db.connect(self.database_url) as connection:
            self.run_id = articles.start_run(connection, [self.source.name])
        self.summary = RunSummary(run_id=self.run_id, sources=[self.source.name])

    def process_item(self, item: Any, spider: Spider | None = None) -> Any:
        if isinstance(item, PageItem):
            self.batch.append(
                FetchedPage(
                    source=item.source,
                    url=item.url,
                    status=item.status,
                    fetched_at=datetime.fromisoformat(item.fetched_at),
                    body=item.body,
                    content_type=item.content_type,
                )
            )
            if len(self.batch) >= self.batch_size:
                self._flush()
        elif isinstance(item, FetchErrorItem):
            self.errors.append(FetchError(item.source, item.url, item.reason))
        return item

    def _flush(self) -> None:
        pages, self.batch = self.batch, []
        if pages:
            self.pending.append(deferToThread(self._ingest, pages))

    def _ingest(self, pages: list[FetchedPage]) -> None:
        """Runs in a worker thread: plain blocking extraction and storage."""
        from flows.extract.pool import (
            extract_pages,  # trafilatura: slow to import, needed only here
        )

        assert self.run_id is not None
        extracted = extract_pages(pages, self.source)
        with db.connect(self.database_url) as connection:
            stored = articles.store_articles(connection, extracted.articles, self.run_id)
        self.extracted.append(extracted)
        self.stored.add(stored)

    def close_spider(self, spider: Spider | None = None) -> Deferred[Any]:
        self._flush()
        done: Deferred[Any] = DeferredList(self.pending, consumeErrors=True)
        done.addCallback(self._finish)
        return done

    def _finish(self, outcomes: list[tuple[bool, Any]]) -> None:
        failures = [result for ok, result in outcomes if not ok]
        status = COMPLETED
        if failures:
            status = FAILED
            self.crawler.spider.ingest_failed = True  # type: ignore[union-attr]
            for failure in failures:
                self.errors.append(
                    FetchError(self.source.name, "", f"ingest failed: {failure.getErrorMessage()}")
                )
        stats = dict(self.crawler.stats.get_stats())
        crawled = CrawlResult(
            self.source.name, errors=self.errors, stats=stats, skipped=skipped_from_stats(stats)
        )
        extracted = ExtractionResult(
            errors=[e for batch in self.extracted for e in batch.errors],
            duplicates_in_batch=sum(batch.duplicates_in_batch for batch in self.extracted),
        )
        _, errors = runs.tally_source(
            self.summary, self.source.name, crawled, extracted, self.stored
        )
        if status != FAILED:
            status = self.summary.outcome
        assert self.run_id is not None
        with db.connect(self.database_url) as connection:
            articles.record_errors(connection, self.run_id, errors)
            articles.finish_run(connection, self.run_id, self.summary, status)
