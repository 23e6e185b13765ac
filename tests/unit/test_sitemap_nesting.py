"""Sitemap indexes nested four deep still lead to their articles; a bound still stops endless chains."""

from __future__ import annotations

import scrapy
from scrapy.http import XmlResponse
from scrapy.utils.test import get_crawler

from flows.config.sources import Source
from spiders.items import FetchErrorItem
from spiders.source_spider import MAX_SITEMAP_NESTING, SourceSpider

SITE = "https://news.example"


def spider() -> SourceSpider:
    source = Source(
        name="nested", sitemaps=[f"{SITE}/index-0.xml"], article_url_patterns=["^/story/"]
    )
    spider_class = SourceSpider.for_source(source)
    made = spider_class.from_crawler(get_crawler(spider_class))
    assert isinstance(made, SourceSpider)
    return made


def response(path: str, body: str, nesting: int) -> XmlResponse:
    request = scrapy.Request(SITE + path, meta={"nw_kind": "sitemap", "nw_nesting": nesting})
    return XmlResponse(SITE + path, body=body.encode(), request=request)


def index(child: str) -> str:
    return (
        '<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        f"<sitemap><loc>{SITE}{child}</loc></sitemap></sitemapindex>"
    )


def test_four_nested_indexes_reach_the_articles() -> None:
    crawl = spider()
    for depth in range(4):  # index-0 -> index-1 -> index-2 -> index-3 -> urlset
        child = f"/index-{depth + 1}.xml" if depth < 3 else "/news.xml"
        (request,) = crawl.parse_sitemap(response(f"/index-{depth}.xml", index(child), depth))
        assert isinstance(request, scrapy.Request)
        assert request.url == SITE + child and request.meta["nw_nesting"] == depth + 1
    urlset = (
        '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        f"<url><loc>{SITE}/story/deep</loc></url></urlset>"
    )
    (article,) = crawl.parse_sitemap(response("/news.xml", urlset, 4))
    assert isinstance(article, scrapy.Request) and article.url == f"{SITE}/story/deep"


def test_sitemap_requests_may_be_as_large_as_the_protocol_allows() -> None:
    crawl = spider()
    (request,) = crawl.parse_sitemap(response("/index-0.xml", index("/news.xml"), 0))
    assert isinstance(request, scrapy.Request)
    assert request.meta["download_maxsize"] >= 50 * 1024 * 1024


def test_endless_index_chains_stop_with_an_error() -> None:
    crawl = spider()
    results = list(
        crawl.parse_sitemap(response("/loop.xml", index("/loop-2.xml"), MAX_SITEMAP_NESTING))
    )
    assert len(results) == 1 and isinstance(results[0], FetchErrorItem)
    assert "nested" in results[0].reason
