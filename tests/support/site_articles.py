"""Helpers for tests: the test site's article pages, fetched over HTTP and extracted for real."""

from __future__ import annotations

import urllib.request
from datetime import UTC, datetime

from flows.config.settings import default_sources_file
from flows.config.sources import Source, load_sources
from flows.extract.article import extract_article
from flows.records import Article, FetchedPage
from flows.testsite import TestSite


def daily8_source(site: TestSite) -> Source:
    return load_sources(default_sources_file(), ["daily8"])[0].rebased(site.base_url)


def fetch_article(site: TestSite, url: str, source: Source | None = None) -> Article:
    with urllib.request.urlopen(url, timeout=10) as response:
        page = FetchedPage(
            source="daily8",
            url=url,
            status=response.status,
            fetched_at=datetime(2026, 11, 28, 6, 0, tzinfo=UTC),
            body=response.read(),
            encoding="utf-8",
            content_type=response.headers.get("Content-Type"),
        )
    return extract_article(page, source or daily8_source(site))


def site_articles(site: TestSite) -> dict[str, Article]:
    """URL -> extracted article, for every article URL the site serves (aliases included)."""
    source = daily8_source(site)
    return {url: fetch_article(site, url, source) for url in sorted(site.article_urls())}
