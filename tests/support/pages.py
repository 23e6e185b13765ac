"""A hand-written page through the real extraction, as a crawl of any source would store it."""

from __future__ import annotations

from datetime import UTC, datetime

from flows.config.sources import Source
from flows.extract.article import extract_article
from flows.records import Article, FetchedPage

# A source with nothing of its own to say about pages (no cut markers, no byline selectors);
# its start URL does not matter to extraction.
ANY_SOURCE = Source(
    name="pages",
    start_urls=["https://news.example/"],
    article_url_patterns=["^/"],
    min_body_chars=1,
)
FETCHED_AT = datetime(2026, 3, 2, tzinfo=UTC)


def stored_article(html: bytes, url: str, fetched_at: datetime = FETCHED_AT) -> Article:
    """The article `extract_article` makes of `html` served at `url` as UTF-8 HTML."""
    page = FetchedPage("pages", url, 200, fetched_at, html, None, "text/html; charset=utf-8")
    return extract_article(page, ANY_SOURCE)
