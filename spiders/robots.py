"""robots.txt read once per origin for as long as it may be kept, not once per crawler.

A fleet crawl starts a crawler per poll, and Scrapy's RobotsTxtMiddleware reads robots.txt
anew for each; this subclass keeps each answer in the process and in Postgres (robots_cache)
for as long as its caching headers allow (flows.fetch.robots_cache), so a feed polled every
minute costs one request a poll, not two. A kept answer still fires `robots_parsed`, so the
Crawl-delay middleware sees it as if it had been fetched.
"""

from __future__ import annotations

import logging
import time
from typing import Any, ClassVar

from scrapy import signals
from scrapy.downloadermiddlewares.robotstxt import RobotsTxtMiddleware
from scrapy.http import Request, Response
from scrapy.robotstxt import RobotParser
from scrapy.utils.httpobj import urlparse_cached
from scrapy.utils.misc import build_from_crawler

from flows.fetch.robots_cache import DEFAULT_SECONDS, cache_lifetime
from spiders.database import CrawlState

log = logging.getLogger(__name__)


class CachedRobotsTxtMiddleware(RobotsTxtMiddleware):
    """Scrapy's robots.txt middleware with the answer kept between crawlers and crawls."""

    # origin -> (monotonic expiry, body): shared by every crawler of this process.
    _kept: ClassVar[dict[str, tuple[float, bytes]]] = {}

    def __init__(self, crawler: Any) -> None:
        super().__init__(crawler)
        self._default_seconds = crawler.settings.getfloat(
            "NEWSWATCH_ROBOTS_CACHE_SECONDS", DEFAULT_SECONDS
        )
        self._state = CrawlState.for_crawler(crawler)

    async def robot_parser(self, request: Request) -> RobotParser | None:
        parsed = urlparse_cached(request)
        netloc = parsed.netloc
        if netloc not in self._parsers:
            body = self._kept_body(f"{parsed.scheme}://{netloc}")
            if body is not None:
                parser: RobotParser = build_from_crawler(self._parserimpl, self.crawler, body)
                self._parsers[netloc] = parser
                self._stats.inc_value("newswatch/robots_cache_hits")
                await self.crawler.signals.send_catch_log_async(
                    signal=signals.robots_parsed, robotparser=parser, request=request
                )
                return parser
        return await super().robot_parser(request)

    def _kept_body(self, origin: str) -> bytes | None:
        kept = self._kept.get(origin)
        if kept is not None and kept[0] > time.monotonic():
            return kept[1]
        if self._state is None:
            return None
        try:
            row = self._state.cached_robots(origin)
        except Exception as exc:  # the cache is an optimisation: fetch robots.txt instead
            log.warning("robots.txt cache unreadable (%s): fetching %s/robots.txt", exc, origin)
            return None
        if row is None:
            return None
        # Kept in memory briefly: Postgres has the expiry, and another process may renew it.
        self._kept[origin] = (time.monotonic() + 60.0, row[1])
        return row[1]

    async def _parse_robots(self, response: Response, netloc: str, request: Request) -> None:
        await super()._parse_robots(response, netloc, request)
        headers = {
            str(name): str(value) for name, value in response.headers.to_unicode_dict().items()
        }
        lifetime = cache_lifetime(response.status, headers, self._default_seconds)
        if lifetime is None:
            return
        origin = f"{urlparse_cached(request).scheme}://{netloc}"
        body = response.body if 200 <= response.status < 300 else b""
        self._kept[origin] = (time.monotonic() + min(lifetime, 60.0), body)
        if self._state is not None:
            try:
                self._state.keep_robots(origin, response.status, body, lifetime)
            except Exception as exc:
                log.warning("robots.txt of %s not kept: %s", origin, exc)
