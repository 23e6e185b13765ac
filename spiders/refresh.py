"""Scrapy's meta-refresh redirects, without decoding every page whole to look for one.

Scrapy's MetaRefreshMiddleware reads the first 4,096 characters of `response.text`, and that
property decodes the entire body first: on news pages about a tenth of the crawl child's CPU,
spent on article pages whose text the crawl never reads (the extraction workers decode them).
Those 4,096 characters are at most 16 KiB of bytes in any ASCII-compatible encoding, so a page
whose first 16 KiB do not hold the word "refresh" in any case cannot redirect; only the others
(and pages in UTF-16 or UTF-32, where the word's bytes are interleaved with NULs) go through
Scrapy's own check.
"""

from __future__ import annotations

from typing import Any

from scrapy import Request
from scrapy.downloadermiddlewares.redirect import MetaRefreshMiddleware
from scrapy.http import HtmlResponse, Response

__all__ = ["HeadMetaRefreshMiddleware", "may_refresh"]

# Scrapy's window, in characters, times the longest UTF-8 character.
_HEAD_BYTES = 4096 * 4


def may_refresh(body: bytes) -> bool:
    """False only when the first 4,096 characters surely hold no meta refresh."""
    head = body[:_HEAD_BYTES]
    return b"\x00" in head or b"refresh" in head.lower()


class HeadMetaRefreshMiddleware(MetaRefreshMiddleware):
    """Downloader middleware: MetaRefreshMiddleware for pages that may hold a meta refresh."""

    def process_response(
        self, request: Request, response: Response, spider: Any = None
    ) -> Request | Response:
        if isinstance(response, HtmlResponse) and not may_refresh(response.body):
            return response
        return super().process_response(request, response)
