"""One spider class for every source: the source's configuration says where to go."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from typing import Any, ClassVar
from urllib.parse import urlsplit

import scrapy
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Response, TextResponse
from scrapy.linkextractors import LinkExtractor
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.python.failure import Failure

from flows.sources import Source
from flows.urls import canonicalize_url
from spiders.items import FetchErrorItem, PageItem


class SourceSpider(scrapy.Spider):
    """Follows listing links and yields article pages of one configured source."""

    source: ClassVar[Source]

    @classmethod
    def for_source(cls, source: Source) -> type[SourceSpider]:
        """A spider class named after the source, its limits as spider-level settings."""
        custom_settings = {
            "DOWNLOAD_DELAY": source.download_delay,
            "AUTOTHROTTLE_START_DELAY": max(source.download_delay, 0.01),
            "CONCURRENT_REQUESTS_PER_DOMAIN": source.concurrency_per_domain,
            "CLOSESPIDER_PAGECOUNT": source.max_pages,
            "CLOSESPIDER_TIMEOUT": source.max_seconds,
            "DOWNLOAD_MAXSIZE": source.max_response_bytes,
            "DEPTH_LIMIT": source.max_depth,
        }
        attributes = {
            "name": source.name,
            "source": source,
            "allowed_domains": source.domains(),
            "custom_settings": custom_settings,
            "__module__": __name__,
        }
        return type(f"{source.name.title().replace('-', '')}Spider", (cls,), attributes)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # LinkExtractor's allow_domains compares host:port, so hosts are checked here instead.
        self._links = LinkExtractor(unique=True)
        self._domains = tuple(domain.lower() for domain in self.source.domains())
        self._requests_left = self.source.max_pages
        self._requested: set[str] = set()

    def _request(self, url: str, callback: Any, priority: int = 0) -> scrapy.Request | None:
        """A request within the source's page budget (CLOSESPIDER_PAGECOUNT lets in-flight ones through)."""
        if self._requests_left <= 0 or url in self._requested:
            return None
        self._requests_left -= 1
        self._requested.add(url)
        return scrapy.Request(url, callback=callback, errback=self.on_error, priority=priority)

    def _on_site(self, url: str) -> bool:
        host = (urlsplit(url).hostname or "").lower()
        return any(host == domain or host.endswith("." + domain) for domain in self._domains)

    async def start(self) -> AsyncIterator[scrapy.Request]:
        for url in self.source.start_urls:
            request = self._request(url, self.parse)
            if request is not None:
                yield request

    def parse(self, response: Response, **kwargs: Any) -> Iterator[Any]:
        if not isinstance(response, TextResponse):
            yield self._error(response.url, f"not a text response ({_content_type(response)})")
            return
        for link in self._links.extract_links(response):
            url = canonicalize_url(link.url, self.source.strip_query_params)
            if not self._on_site(url):
                continue
            request = None
            if self.source.is_article(url):
                request = self._request(url, self.parse_article, priority=10)
            elif self.source.is_listing(url):
                request = self._request(url, self.parse)
            if request is not None:
                yield request

    def parse_article(self, response: Response) -> Iterator[PageItem | FetchErrorItem]:
        if not isinstance(response, TextResponse):
            yield self._error(response.url, f"not a text response ({_content_type(response)})")
            return
        yield PageItem(
            source=self.source.name,
            url=response.url,
            status=response.status,
            fetched_at=datetime.now(UTC).isoformat(),
            html=response.text,
            content_type=_content_type(response),
        )

    def on_error(self, failure: Failure) -> Iterator[FetchErrorItem]:
        if failure.check(IgnoreRequest) and not failure.check(HttpError):
            return  # robots.txt said no, or a filter dropped it: not an error of the site
        request = failure.request  # type: ignore[attr-defined]
        response = getattr(failure.value, "response", None)
        reason = (
            f"HTTP {response.status}"
            if response is not None
            else f"{failure.type.__name__}: {failure.getErrorMessage()}"  # type: ignore[union-attr]
        )
        yield self._error(request.url, reason)

    def _error(self, url: str, reason: str) -> FetchErrorItem:
        self.crawler.stats.inc_value("newswatch/fetch_errors")
        return FetchErrorItem(source=self.source.name, url=url, reason=reason)


def _content_type(response: Response) -> str | None:
    value = response.headers.get(b"Content-Type")
    return value.decode("latin-1") if value else None
