"""Failures of our own while handling a page are errors of the run, never silent drops.

Without this, an exception in a callback or in a spider middleware (the known-URL check losing
its database, say) is only logged by Scrapy, and every link the page gave is lost: the run ends
with 0 errors and the entry page's validators are kept, so later runs get 304 and never look
at the page again. Here the exception becomes a FetchErrorItem (recorded like a failed fetch)
and the page, or the entry page that linked it, is tainted: its validators are not kept.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

from scrapy import Spider
from scrapy.crawler import Crawler
from scrapy.http import Response

from spiders.items import FetchErrorItem

log = logging.getLogger(__name__)


class OwnFailureMiddleware:
    """Spider middleware near the engine (low order), so it sees what every other one raised."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> OwnFailureMiddleware:
        return cls(crawler)

    def process_spider_exception(
        self, response: Response, exception: Exception, spider: Spider | None = None
    ) -> Iterator[FetchErrorItem]:
        spider = spider or self.crawler.spider
        source = getattr(spider, "source", None)
        tainted: set[str] | None = getattr(spider, "tainted_entries", None)
        if tainted is not None:
            tainted.add(response.url)  # an entry page whose links were not all handled
            parent = response.meta.get("nw_parent")
            if parent:
                tainted.add(parent)
        assert self.crawler.stats is not None
        self.crawler.stats.inc_value("newswatch/fetch_errors")
        self.crawler.stats.inc_value("newswatch/own_failures")
        reason = f"failed while handling the page: {type(exception).__name__}: {exception}"
        log.error("%s: %s", response.url, reason, exc_info=exception)
        yield FetchErrorItem(
            source=source.name if source is not None else getattr(spider, "name", ""),
            url=response.url,
            reason=reason.strip(),
        )
