"""A Scrapy extension printing machine-readable progress lines for the parent process.

The flow reads the crawl child's output line by line; these lines move the run's progress
artifact in the Prefect UI. Interval: NEWSWATCH_PROGRESS_INTERVAL seconds (0 turns it off).
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any

from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured

from flows.orchestration.dashboards import PROGRESS_MARKER


class ProgressLines:
    def __init__(self, crawler: Crawler, interval: float) -> None:
        self.crawler = crawler
        self.interval = interval
        self.max_pages = crawler.settings.getint("CLOSESPIDER_PAGECOUNT")
        self.max_seconds = crawler.settings.getfloat("CLOSESPIDER_TIMEOUT")
        self._started = time.monotonic()
        self._last = 0.0

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ProgressLines:
        interval = crawler.settings.getfloat("NEWSWATCH_PROGRESS_INTERVAL", 2.0)
        if interval <= 0:
            raise NotConfigured("NEWSWATCH_PROGRESS_INTERVAL is 0")
        extension = cls(crawler, interval)
        # Bound methods of an object the crawler keeps: Scrapy's signals hold weak references.
        crawler.signals.connect(extension.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(extension.response_received, signal=signals.response_received)
        crawler.signals.connect(extension.spider_closed, signal=signals.spider_closed)
        return extension

    def spider_opened(self, spider: Any = None) -> None:
        self._started = time.monotonic()
        self._emit()

    def response_received(self, *args: Any, **kwargs: Any) -> None:
        if time.monotonic() - self._last >= self.interval:
            self._emit()

    def spider_closed(self, *args: Any, **kwargs: Any) -> None:
        self._emit()

    def _emit(self) -> None:
        stats = self.crawler.stats
        assert stats is not None
        values = {
            "pages": stats.get_value("response_received_count", 0),
            "items": stats.get_value("item_scraped_count", 0),
            "elapsed": round(time.monotonic() - self._started, 1),
            "max_pages": self.max_pages,
            "max_seconds": self.max_seconds,
        }
        sys.stdout.write(PROGRESS_MARKER + json.dumps(values) + "\n")
        sys.stdout.flush()
        self._last = time.monotonic()
