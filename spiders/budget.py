"""A hard page budget per crawl: CLOSESPIDER_PAGECOUNT stops a crawl, but lets requests in flight land."""

from __future__ import annotations

from scrapy import Request, Spider
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured

from flows.fetch.polite import PAGE_BUDGET, skipped_stat
from spiders.errors import SkippedRequest


class PageBudgetMiddleware:
    """Downloader middleware: once NEWSWATCH_MAX_PAGES requests went out, the rest are skipped.

    robots.txt requests are not pages of the site and do not count.
    """

    def __init__(self, crawler: Crawler, max_pages: int) -> None:
        self.crawler = crawler
        self.pages_left = max_pages

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> PageBudgetMiddleware:
        max_pages = crawler.settings.getint("NEWSWATCH_MAX_PAGES")
        if max_pages <= 0:
            raise NotConfigured("NEWSWATCH_MAX_PAGES is not set")
        return cls(crawler, max_pages)

    def process_request(self, request: Request, spider: Spider | None = None) -> None:
        if request.url.endswith("/robots.txt") and request.meta.get("nw_kind") != "robots":
            return None
        if request.meta.get("nw_budget_counted"):
            return None  # a retry or redirect of a request already counted
        if self.pages_left <= 0:
            assert self.crawler.stats is not None
            self.crawler.stats.inc_value(skipped_stat(PAGE_BUDGET))
            raise SkippedRequest(PAGE_BUDGET, request.url)
        self.pages_left -= 1
        request.meta["nw_budget_counted"] = True
        return None
