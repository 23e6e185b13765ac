"""spiders.refresh: meta refreshes still redirect; pages without one are not decoded for it."""

from __future__ import annotations

import pytest
from scrapy import Request
from scrapy.http import HtmlResponse
from scrapy.utils.test import get_crawler

from spiders.refresh import HeadMetaRefreshMiddleware, may_refresh

REFRESH_PAGE = (
    b'<html><head><META HTTP-EQUIV="Refresh" content="0; url=/moved/story.html"></head>'
    b"<body><p>Moved.</p></body></html>"
)


def _middleware() -> HeadMetaRefreshMiddleware:
    return HeadMetaRefreshMiddleware.from_crawler(get_crawler())


def _response(url: str, body: bytes) -> HtmlResponse:
    return HtmlResponse(url, body=body, headers={"Content-Type": "text/html"}, request=Request(url))


def test_a_meta_refresh_still_redirects() -> None:
    response = _response("http://127.0.0.1/old.html", REFRESH_PAGE)
    redirected = _middleware().process_response(response.request, response)
    assert isinstance(redirected, Request)
    assert redirected.url == "http://127.0.0.1/moved/story.html"


def test_a_refresh_after_a_long_head_of_multibyte_text_is_still_found() -> None:
    comment = ("новости " * 500)[:4000].encode("utf-8")  # 4,000 characters, ~7,500 bytes
    body = b"<html><head><!--" + comment + b"-->" + REFRESH_PAGE[len(b"<html><head>") :]
    assert body.index(b"Refresh") > 4096  # past 4,096 bytes, within 4,096 + 100 characters
    response = _response("http://127.0.0.1/old.html", body)
    assert isinstance(_middleware().process_response(response.request, response), Request)


def test_a_page_without_refresh_is_passed_on_undecoded() -> None:
    body = b"<html><head><title>Story</title></head><body>" + b"<p>Text.</p>" * 5000 + b"</body>"
    response = _response("http://127.0.0.1/story.html", body)
    assert _middleware().process_response(response.request, response) is response
    assert response._cached_ubody is None  # Scrapy's decoded-text cache: never filled


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b"<html><head></head><body>plain</body></html>", False),
        (b"<meta http-equiv=REFRESH content=5>", True),
        ("<html>refresh</html>".encode("utf-16"), True),  # NULs: left to Scrapy's own check
    ],
)
def test_may_refresh(body: bytes, expected: bool) -> None:
    assert may_refresh(body) is expected
