"""spiders.prefetched: the probe's answer stands in for the crawl's first request, once."""

from __future__ import annotations

from pathlib import Path

import pytest
from scrapy import Request
from scrapy.exceptions import NotConfigured
from scrapy.http import XmlResponse
from scrapy.utils.test import get_crawler

from spiders.prefetched import PrefetchedResponseMiddleware

FEED = b'<?xml version="1.0"?><rss><channel><item><link>http://a.example/1</link></item></channel></rss>'


def _middleware(tmp_path: Path) -> PrefetchedResponseMiddleware:
    body_file = tmp_path / "prefetched.bin"
    body_file.write_bytes(FEED)
    page = {
        "url": "http://a.example/feed.xml",
        "status": 200,
        "headers": [
            ("Content-Type", "application/rss+xml"),
            ("ETag", '"v2"'),
            ("Transfer-Encoding", "chunked"),
        ],
        "body_file": str(body_file),
    }
    crawler = get_crawler(settings_dict={"NEWSWATCH_PREFETCHED": [page]})
    crawler.stats.open_spider()  # type: ignore[union-attr]
    return PrefetchedResponseMiddleware.from_crawler(crawler)


def test_the_first_request_gets_the_probes_answer_the_next_goes_out(tmp_path: Path) -> None:
    middleware = _middleware(tmp_path)
    response = middleware.process_request(Request("http://a.example/feed.xml"))
    assert isinstance(response, XmlResponse)
    assert (response.status, response.body) == (200, FEED)
    assert response.headers[b"ETag"] == b'"v2"'  # validators kept for the next poll
    assert b"Transfer-Encoding" not in response.headers  # the probe's framing, not the page's
    assert "prefetched" in response.flags
    assert middleware.process_request(Request("http://a.example/feed.xml")) is None
    assert middleware.process_request(Request("http://a.example/other.xml")) is None
    assert middleware.crawler.stats.get_value("newswatch/prefetched_entry_points") == 1  # type: ignore[union-attr]


def test_a_crawl_without_prefetched_pages_has_no_middleware() -> None:
    with pytest.raises(NotConfigured):
        PrefetchedResponseMiddleware.from_crawler(get_crawler())
