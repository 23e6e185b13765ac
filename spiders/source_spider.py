"""One spider class for every source: the source's configuration says where to go.

Entry points (listing pages, feeds, sitemaps, robots.txt) lead to article pages; the spider only
fetches, extraction happens in flows/. Request meta keys it sets:
  nw_kind      "listing" | "feed" | "sitemap" | "robots" | "article"
  nw_entry     True for pages fetched conditionally (validators kept in Postgres)
  nw_parent    the entry page that linked an article or sitemap
  nw_hops      listing-link hops from a start URL (bounded by max_depth)
  nw_page      a paginated listing's page number
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from typing import Any, ClassVar
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

import scrapy
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Response, TextResponse
from scrapy.linkextractors import LinkExtractor
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.python.failure import Failure

from flows.config.sources import Source
from flows.fetch.urls import canonicalize_url, on_site
from spiders.discovery import SITEMAP_MAX_BYTES, FeedError, robots_sitemaps, sitemap_entries
from spiders.errors import describe_failure, is_skip
from spiders.feeds import feed_links
from spiders.items import FetchErrorItem, PageItem

ARTICLE_PRIORITY = 10
# Indexes of indexes are out of the protocol but real; the dupe filter stops loops.
MAX_SITEMAP_NESTING = 8


class SourceSpider(scrapy.Spider):
    """Follows a source's entry points and yields its article pages."""

    source: ClassVar[Source]

    @classmethod
    def for_source(cls, source: Source) -> type[SourceSpider]:
        """A spider class named after the source, its limits as spider-level settings."""
        custom_settings = {
            "DOWNLOAD_DELAY": source.download_delay,
            "AUTOTHROTTLE_START_DELAY": max(source.download_delay, 0.01),
            "CONCURRENT_REQUESTS_PER_DOMAIN": source.concurrency_per_domain,
            "CLOSESPIDER_PAGECOUNT": source.max_pages,
            "NEWSWATCH_MAX_PAGES": source.max_pages,
            "CLOSESPIDER_TIMEOUT": source.max_seconds,
            "DOWNLOAD_MAXSIZE": source.max_response_bytes,
            "DOWNLOAD_TIMEOUT": source.download_timeout,
            "RETRY_TIMES": source.retry_times,
            # Hops are bounded by the spider (nw_hops): pagination and sitemap indexes are no hop.
            "DEPTH_LIMIT": 0,
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
        # Entry pages one of whose links failed: their validators are not kept, so the next run
        # fetches them in full and retries the failed links.
        self.tainted_entries: set[str] = set()
        self._articles_seen: set[str] = set()

    def _on_site(self, url: str) -> bool:
        return on_site(url, self._domains)

    # -- entry points ----------------------------------------------------------------------------

    async def start(self) -> AsyncIterator[scrapy.Request]:
        source = self.source
        if source.sitemaps_from_robots:
            for site in source.robots_origins():
                yield self._request(
                    site + "/robots.txt", self.parse_robots, "robots", dont_obey_robotstxt=True
                )
        for url in source.feeds:
            yield self._request(url, self.parse_feed, "feed", nw_entry=True)
        for url in source.sitemaps:
            yield self._request(url, self.parse_sitemap, "sitemap", nw_entry=True)
        for url in source.start_urls:
            yield self._listing(url, hops=0, page=self._first_page(url))

    def _request(self, url: str, callback: Any, kind: str, **meta: Any) -> scrapy.Request:
        if kind == "sitemap":  # allowed up to the protocol's own limit, whatever the page cap
            meta.setdefault(
                "download_maxsize", max(SITEMAP_MAX_BYTES, self.source.max_response_bytes)
            )
        return scrapy.Request(
            url, callback=callback, errback=self.on_error, meta={"nw_kind": kind, **meta}
        )

    def _listing(self, url: str, hops: int, page: int, parent: str | None = None) -> scrapy.Request:
        return self._request(
            url, self.parse, "listing", nw_entry=True, nw_hops=hops, nw_page=page, nw_parent=parent
        )

    def _article(self, url: str, parent: str) -> scrapy.Request | None:
        # Deduplicated here rather than by Scrapy's filter, which would also drop the second
        # visit of a redirect loop silently instead of letting it fail as one.
        if url in self._articles_seen:
            self.crawler.stats.inc_value("newswatch/duplicate_links")
            return None
        self._articles_seen.add(url)
        return scrapy.Request(
            url,
            callback=self.parse_article,
            errback=self.on_error,
            priority=ARTICLE_PRIORITY,
            dont_filter=True,
            meta={"nw_kind": "article", "nw_parent": parent},
        )

    def _first_page(self, url: str) -> int:
        pagination = self.source.pagination
        if pagination is None or not pagination.page_param:
            return 1
        value = dict(parse_qsl(urlsplit(url).query)).get(pagination.page_param)
        return int(value) if value and value.isdigit() else pagination.first_page

    # -- callbacks -------------------------------------------------------------------------------

    def parse(self, response: Response, **kwargs: Any) -> Iterator[Any]:
        """A listing page: article links, listing links (bounded hops), the next page."""
        if not isinstance(response, TextResponse):
            yield self._error(response, f"listing is not a text page ({_content_type(response)})")
            return
        hops = int(response.meta.get("nw_hops", 0))
        articles = 0
        for link in self._links.extract_links(response):
            url = canonicalize_url(link.url, self.source.strip_query_params)
            if not self._on_site(url):
                continue
            if self.source.is_article(url):
                articles += 1
                request = self._article(url, parent=response.url)
                if request is not None:
                    yield request
            elif self.source.is_listing(url) and hops < self.source.max_depth:
                yield self._listing(
                    url, hops=hops + 1, page=self._first_page(url), parent=response.url
                )
        next_url = self._next_page(response, found_articles=articles > 0)
        if next_url is not None:
            page = int(response.meta.get("nw_page", 1)) + 1
            yield self._listing(next_url, hops=hops, page=page, parent=response.url)

    def _next_page(self, response: TextResponse, found_articles: bool) -> str | None:
        pagination = self.source.pagination
        page = int(response.meta.get("nw_page", 1))
        if pagination is None:
            return None
        first = pagination.first_page if pagination.page_param else 1
        if page + 1 >= first + pagination.max_pages:
            return None
        if pagination.next_link_css:
            href = response.css(pagination.next_link_css).attrib.get("href")
            if not href:
                return None
            url = canonicalize_url(urljoin(response.url, href), self.source.strip_query_params)
            return url if self._on_site(url) else None
        if not found_articles or not pagination.page_param:
            return None  # an empty page ends a numbered listing
        return _with_param(response.url, pagination.page_param, str(page + 1))

    def parse_feed(self, response: Response) -> Iterator[Any]:
        try:
            headers = {
                str(name): str(value) for name, value in response.headers.to_unicode_dict().items()
            }
            links = feed_links(response.body, response.url, headers)
        except FeedError as exc:
            yield self._error(response, f"unreadable feed: {exc}")
            return
        yield from self._entries(response, links)

    def parse_sitemap(self, response: Response) -> Iterator[Any]:
        try:
            kind, urls = sitemap_entries(response.body, SITEMAP_MAX_BYTES)
        except FeedError as exc:
            yield self._error(response, f"unreadable sitemap: {exc}")
            return
        if kind == "urlset":
            yield from self._entries(response, urls)
            return
        nesting = int(response.meta.get("nw_nesting", 0))
        if nesting >= MAX_SITEMAP_NESTING:
            yield self._error(response, f"sitemap indexes nested deeper than {nesting}")
            return
        for url in urls:
            absolute = urljoin(response.url, url)
            if self._on_site(absolute):
                yield self._request(
                    absolute,
                    self.parse_sitemap,
                    "sitemap",
                    nw_entry=True,
                    nw_parent=response.url,
                    nw_nesting=nesting + 1,
                )

    def parse_robots(self, response: Response) -> Iterator[Any]:
        text = (
            response.text
            if isinstance(response, TextResponse)
            else response.body.decode("utf-8", "replace")
        )
        for url in robots_sitemaps(text):
            absolute = urljoin(response.url, url)
            if self._on_site(absolute):
                yield self._request(absolute, self.parse_sitemap, "sitemap", nw_entry=True)

    def _entries(self, response: Response, links: list[str]) -> Iterator[scrapy.Request]:
        for link in links:
            url = canonicalize_url(urljoin(response.url, link), self.source.strip_query_params)
            if self._on_site(url) and self.source.accepts_feed_entry(url):
                request = self._article(url, parent=response.url)
                if request is not None:
                    yield request

    def parse_article(self, response: Response) -> Iterator[PageItem | FetchErrorItem]:
        if not isinstance(response, TextResponse):
            yield self._error(
                response, f"binary or non-HTML content ({_content_type(response) or 'no type'})"
            )
            return
        yield PageItem(
            source=self.source.name,
            url=response.url,
            status=response.status,
            fetched_at=datetime.now(UTC).isoformat(),
            body=response.body,
            content_type=_content_type(response),
        )

    def on_error(self, failure: Failure) -> Iterator[FetchErrorItem]:
        if (
            failure.check(IgnoreRequest)  # type: ignore[no-untyped-call]
            and not failure.check(HttpError)  # type: ignore[no-untyped-call]
            and failure.value is not None
            and is_skip(failure.value)
        ):
            return  # robots.txt, a known URL or an unchanged page: counted, not an error
        request = failure.request  # type: ignore[attr-defined]
        self._taint(request.meta)
        self.crawler.stats.inc_value("newswatch/fetch_errors")
        first_url = (request.meta.get("redirect_urls") or [request.url])[0]
        reason = describe_failure(failure, self.source.max_response_bytes)
        yield FetchErrorItem(self.source.name, first_url, reason)

    def _error(self, response: Response, reason: str) -> FetchErrorItem:
        self._taint(response.meta)
        self.crawler.stats.inc_value("newswatch/fetch_errors")
        return FetchErrorItem(source=self.source.name, url=response.url, reason=reason)

    def _taint(self, meta: dict[str, Any]) -> None:
        parent = meta.get("nw_parent")
        if parent:
            self.tainted_entries.add(parent)


def _with_param(url: str, name: str, value: str) -> str:
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != name]
    query.append((name, value))
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), ""))


def _content_type(response: Response) -> str | None:
    value = response.headers.get(b"Content-Type")
    return value.decode("latin-1") if value else None
