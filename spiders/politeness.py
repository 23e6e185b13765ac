"""Politeness beyond Scrapy's defaults: robots.txt Crawl-delay, and back-off on 429/503.

Scrapy obeys robots.txt rules but not its Crawl-delay, and retries 429/503 at once; a polite
crawler waits as long as the server asks (Retry-After), within a cap, and slows the whole domain.
"""

from __future__ import annotations

from typing import Any

from scrapy import Request, Spider, signals
from scrapy.crawler import Crawler
from scrapy.downloadermiddlewares.retry import RetryMiddleware
from scrapy.http import Response
from scrapy.robotstxt import RobotParser
from scrapy.utils.defer import maybe_deferred_to_future
from twisted.internet.task import deferLater

from flows.fetch.polite import request_delay, retry_after_seconds

BACKOFF_STATUSES = (429, 503)


def _slot(crawler: Crawler, request: Request) -> Any:
    downloader = crawler.engine.downloader
    return downloader.slots.get(downloader.get_slot_key(request))


class CrawlDelayMiddleware:
    """Downloader middleware: a host's robots.txt Crawl-delay becomes its slot's minimum delay.

    AutoThrottle moves slot delays up and down; this puts the floor back before each request.
    """

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.max_delay = crawler.settings.getfloat("NEWSWATCH_MAX_CRAWL_DELAY", 60.0)
        agent = crawler.settings.get("ROBOTSTXT_USER_AGENT") or crawler.settings.get("USER_AGENT")
        self.agent = str(agent or "*")
        self.floors: dict[str, float] = {}
        crawler.signals.connect(self.robots_parsed, signal=signals.robots_parsed)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> CrawlDelayMiddleware:
        return cls(crawler)

    def robots_parsed(self, robotparser: RobotParser, request: Request) -> None:
        delay = robotparser.crawl_delay(self.agent)
        if not delay:
            return
        floor = request_delay(0.0, float(delay), self.max_delay)
        downloader = self.crawler.engine.downloader
        self.floors[downloader.get_slot_key(request)] = floor
        self.crawler.stats.max_value("newswatch/robots_crawl_delay", floor)

    def process_request(self, request: Request, spider: Spider | None = None) -> None:
        if not self.floors:
            return
        downloader = self.crawler.engine.downloader
        key = downloader.get_slot_key(request)
        floor = self.floors.get(key)
        slot = downloader.slots.get(key)
        if floor is not None and slot is not None:
            _raise_floor(slot, floor)


def _raise_floor(slot: Any, floor: float) -> None:
    """Make the slot's shortest (jittered) delay at least `floor`."""
    jitter = float(slot.jitter or 0.0)
    if jitter >= 1:
        slot.jitter = jitter = 0.5
    needed = floor / (1 - jitter)
    if slot.delay < needed:
        slot.delay = needed


class BackoffRetryMiddleware(RetryMiddleware):
    """RetryMiddleware that, on 429/503, waits Retry-After (or an exponential back-off) first.

    The wait also raises the domain's delay, so its other requests slow down too. A server asking
    for more than NEWSWATCH_MAX_RETRY_AFTER seconds is not retried in this run.
    """

    def __init__(self, settings: Any) -> None:
        super().__init__(settings)
        self.max_wait = settings.getfloat("NEWSWATCH_MAX_RETRY_AFTER", 60.0)
        self.base_wait = settings.getfloat("NEWSWATCH_BACKOFF_BASE", 1.0)

    async def process_response(  # type: ignore[override]
        self, request: Request, response: Response, spider: Spider | None = None
    ) -> Request | Response:
        if response.status not in BACKOFF_STATUSES or request.meta.get("dont_retry", False):
            return super().process_response(request, response)
        attempts = int(request.meta.get("retry_times", 0))
        asked = retry_after_seconds(response.headers.get(b"Retry-After"))
        wait = asked if asked is not None else self.base_wait * (2**attempts)
        if wait > self.max_wait:
            self.crawler.stats.inc_value("newswatch/backoff/gave_up")
            return response
        retry = self._retry(request, f"{response.status} (back-off {wait:.1f} s)")
        if retry is None:
            return response
        slot = _slot(self.crawler, request)
        if slot is not None:
            slot.delay = max(slot.delay, min(wait, self.max_wait))
        self.crawler.stats.inc_value("newswatch/backoff/count")
        self.crawler.stats.inc_value("newswatch/backoff/seconds", round(wait))
        if wait > 0:
            from twisted.internet import reactor  # the one Scrapy installed, not a default

            await maybe_deferred_to_future(deferLater(reactor, wait, lambda: None))
        return retry
