"""Incremental crawling: skip article URLs already stored, ask entry points "changed since?".

Both are off (NotConfigured) when the crawl has no database. Validators seen in this crawl are
kept only once its pages are safe: by the flow after storing them (written to the spool), or
here at close when `scrapy crawl` ingests itself (its pipeline closes before spider_closed).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterable, Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Any

from scrapy import Request, Spider, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.http import Response

from flows.fetch.polite import (
    KNOWN_URL,
    NOT_MODIFIED,
    conditional_headers,
    skipped_stat,
    validator_from_headers,
)
from flows.records import Validator
from spiders.database import CrawlState
from spiders.errors import SkippedRequest

VALIDATORS_FILE = "validators.json"


class KnownUrlMiddleware:
    """Spider middleware: drops requests for article URLs already stored, one query per page."""

    def __init__(self, crawler: Crawler, state: CrawlState) -> None:
        self.crawler = crawler
        self.state = state

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> KnownUrlMiddleware:
        state = CrawlState.for_crawler(crawler)
        if state is None:
            raise NotConfigured("no database: every article URL is fetched")
        return cls(crawler, state)

    def _refresh(self) -> bool:
        spider = self.crawler.spider
        source = getattr(spider, "source", None)
        return bool(source is not None and source.refresh_known)

    def _filter(self, results: list[Any]) -> Iterator[Any]:
        if self._refresh():
            yield from results
            return
        article_urls = [
            r.url for r in results if isinstance(r, Request) and r.meta.get("nw_kind") == "article"
        ]
        known = self.state.known_urls(article_urls) if article_urls else set()
        for result in results:
            if isinstance(result, Request) and result.url in known:
                self.crawler.stats.inc_value(skipped_stat(KNOWN_URL))
                continue
            yield result

    def process_spider_output(
        self, response: Response, result: Iterable[Any], spider: Spider | None = None
    ) -> Iterator[Any]:
        yield from self._filter(list(result))

    async def process_spider_output_async(
        self, response: Response, result: AsyncIterator[Any], spider: Spider | None = None
    ) -> AsyncIterator[Any]:
        collected = [item async for item in result]
        for item in self._filter(collected):
            yield item


class ConditionalRequestMiddleware:
    """Downloader middleware: If-None-Match / If-Modified-Since on entry pages; 304 = skipped."""

    def __init__(self, crawler: Crawler, state: CrawlState) -> None:
        self.crawler = crawler
        self.state = state
        self.seen: dict[str, Validator] = {}
        crawler.signals.connect(self.spider_closed, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ConditionalRequestMiddleware:
        state = CrawlState.for_crawler(crawler)
        if state is None:
            raise NotConfigured("no database: entry pages are fetched in full")
        return cls(crawler, state)

    def process_request(self, request: Request, spider: Spider | None = None) -> None:
        if not request.meta.get("nw_entry") or request.meta.get("nw_validated"):
            return
        request.meta["nw_validated"] = True
        if self._refresh():
            return
        for name, value in conditional_headers(self.state.validator(request.url)).items():
            request.headers[name] = value

    def process_response(
        self, request: Request, response: Response, spider: Spider | None = None
    ) -> Response:
        if not request.meta.get("nw_entry"):
            return response
        if response.status == 304:
            self.crawler.stats.inc_value(skipped_stat(NOT_MODIFIED))
            raise SkippedRequest(NOT_MODIFIED, request.url)
        if response.status == 200:
            validator = validator_from_headers(
                request.url, response.headers.get(b"ETag"), response.headers.get(b"Last-Modified")
            )
            if validator is not None:
                self.seen[request.url] = validator
        return response

    def _refresh(self) -> bool:
        source = getattr(self.crawler.spider, "source", None)
        return bool(source is not None and source.refresh_known)

    def keepable(self, spider: Spider) -> list[Validator]:
        """Validators of entry pages all of whose links were fetched."""
        tainted: set[str] = getattr(spider, "tainted_entries", set())
        return [v for url, v in self.seen.items() if url not in tainted]

    def spider_closed(self, spider: Spider, reason: str) -> None:
        try:
            if reason != "finished" or getattr(spider, "ingest_failed", False):
                return  # a capped or broken crawl may have left links unfetched
            keep = self.keepable(spider)
            spool_dir = self.crawler.settings.get("NEWSWATCH_SPOOL_DIR")
            if spool_dir:
                rows = [asdict(v) for v in keep]
                (Path(spool_dir) / VALIDATORS_FILE).write_text(json.dumps(rows), encoding="utf-8")
            else:
                self.state.save_validators(spider.name, keep)
        finally:
            self.state.close()
