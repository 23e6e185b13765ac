"""Item pipelines: hand fetched pages to the flow through a spool folder (flows.fetch.spool)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured

from flows.fetch.spool import SpoolWriter
from spiders.items import FetchErrorItem, PageItem


class SpoolPipeline:
    """Writes each page and fetch error to the spool; on when NEWSWATCH_SPOOL_DIR is set.

    NEWSWATCH_SPOOL_PART names this source's sub-folder when several sources share the spool.
    """

    def __init__(self, writer: SpoolWriter) -> None:
        self.writer = writer

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> SpoolPipeline:
        spool_dir = crawler.settings.get("NEWSWATCH_SPOOL_DIR")
        if not spool_dir:
            raise NotConfigured("NEWSWATCH_SPOOL_DIR is not set")
        return cls(SpoolWriter(Path(spool_dir), crawler.settings.get("NEWSWATCH_SPOOL_PART", "")))

    def open_spider(self, spider: Any = None) -> None:
        self.writer.open()

    def close_spider(self, spider: Any = None) -> None:
        self.writer.close()

    def process_item(self, item: Any, spider: Any = None) -> Any:
        if isinstance(item, PageItem):
            self.writer.page(
                item.source,
                item.url,
                item.status,
                item.fetched_at,
                item.body,
                item.content_type,
                item.entry,
            )
        elif isinstance(item, FetchErrorItem):
            self.writer.error(item.source, item.url, item.reason)
        return item
