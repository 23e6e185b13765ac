"""Downloader middleware: an entry point the fleet's probe already fetched is not fetched again.

The fleet first asks a quiet source's entry points with a plain conditional GET
(flows/fetch/fleet_probe.py); when one answers 200, the crawl that follows would ask the same
server for the same page a second time. The tick hands the probe's answer to the crawler
(setting `NEWSWATCH_PREFETCHED`: url, status, headers, the file holding the body), and this
middleware answers that URL's first request with it. Every process_response after it still
runs (validators kept, compression, stats), so the page counts as fetched like any other.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.http import Headers, Response
from scrapy.responsetypes import responsetypes

__all__ = ["PrefetchedResponseMiddleware"]

# Framing of the probe's own connection, not of the page handed on.
_HOP_HEADERS = {"connection", "content-length", "keep-alive", "transfer-encoding"}


class PrefetchedResponseMiddleware:
    def __init__(self, crawler: Crawler, pages: list[dict[str, Any]]) -> None:
        self.crawler = crawler
        self.pages = {str(page["url"]): page for page in pages}

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> PrefetchedResponseMiddleware:
        pages = crawler.settings.get("NEWSWATCH_PREFETCHED") or []
        if not pages:
            raise NotConfigured  # no message: nothing to log for the usual crawl
        return cls(crawler, list(pages))

    def process_request(self, request: Request) -> Response | None:
        page = self.pages.pop(request.url, None)  # once: a retry or a revisit goes out
        if page is None:
            return None
        try:
            body = Path(page["body_file"]).read_bytes()
        except OSError:
            return None  # the parent's file is gone: fetch it after all
        headers = Headers(
            [(name, value) for name, value in page["headers"] if name.lower() not in _HOP_HEADERS]
        )
        response_class = responsetypes.from_args(headers=headers, url=request.url, body=body)
        if self.crawler.stats is not None:
            self.crawler.stats.inc_value("newswatch/prefetched_entry_points")
        return response_class(
            url=request.url,
            status=int(page["status"]),
            headers=headers,
            body=body,
            request=request,
            flags=["prefetched"],
        )
