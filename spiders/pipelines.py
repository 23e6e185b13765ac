"""Item pipelines: hand fetched pages to the flow through a spool folder."""

from __future__ import annotations

import json
from pathlib import Path
from typing import IO, Any

from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured

from spiders.items import FetchErrorItem, PageItem

MANIFEST = "manifest.jsonl"


class SpoolPipeline:
    """Writes each page's bytes to a file and a line to manifest.jsonl; on when NEWSWATCH_SPOOL_DIR is set.

    Files, not memory: a crawl of thousands of pages must not hold them all, and the flow can
    start extracting while the crawl goes on.
    """

    def __init__(self, spool_dir: Path) -> None:
        self.spool_dir = spool_dir
        self._manifest: IO[str] | None = None
        self._count = 0

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> SpoolPipeline:
        spool_dir = crawler.settings.get("NEWSWATCH_SPOOL_DIR")
        if not spool_dir:
            raise NotConfigured("NEWSWATCH_SPOOL_DIR is not set")
        return cls(Path(spool_dir))

    def open_spider(self, spider: Any = None) -> None:
        (self.spool_dir / "pages").mkdir(parents=True, exist_ok=True)
        self._manifest = (self.spool_dir / MANIFEST).open("a", encoding="utf-8")

    def close_spider(self, spider: Any = None) -> None:
        if self._manifest is not None:
            self._manifest.close()

    def process_item(self, item: Any, spider: Any = None) -> Any:
        assert self._manifest is not None
        if isinstance(item, PageItem):
            self._count += 1
            body_file = f"pages/{self._count:07d}.html"
            (self.spool_dir / body_file).write_bytes(item.body)
            record = {
                "kind": "page",
                "source": item.source,
                "url": item.url,
                "status": item.status,
                "fetched_at": item.fetched_at,
                "content_type": item.content_type,
                "body_file": body_file,
            }
        elif isinstance(item, FetchErrorItem):
            record = {
                "kind": "error",
                "source": item.source,
                "url": item.url,
                "reason": item.reason,
            }
        else:
            return item
        self._manifest.write(json.dumps(record, ensure_ascii=False) + "\n")
        self._manifest.flush()
        return item
