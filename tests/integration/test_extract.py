"""Extraction of the test site's Daily8-shaped pages: the page's own article, never a related one."""

from __future__ import annotations

import urllib.request
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from flows.config.settings import REPO_ROOT
from flows.config.sources import Source, load_sources
from flows.extract.article import ExtractionError, content_hash, extract_article, normalized_text
from flows.records import FetchedPage
from flows.testsite import TestSite
from flows.testsite.stories import Story

FETCHED_AT = datetime(2025, 8, 15, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def daily8(test_site: TestSite) -> Source:
    (source,) = load_sources(REPO_ROOT / "sources.toml", ["daily8"])
    return source.rebased(test_site.base_url)


def fetch(url: str) -> FetchedPage:
    with urllib.request.urlopen(url, timeout=10) as response:
        return FetchedPage(
            source="daily8",
            url=url,
            status=response.status,
            fetched_at=FETCHED_AT,
            body=response.read(),
            encoding="utf-8",
            content_type=response.headers["Content-Type"],
        )


def story_text(story: Story) -> str:
    return normalized_text(" ".join(story.paragraphs))


def test_every_article_page_yields_its_own_story_only(test_site: TestSite, daily8: Source) -> None:
    stories = {story.id: story for story in test_site.stories}
    checked = 0
    for url, story_id in test_site.article_urls().items():
        story = stories[story_id]
        article = extract_article(fetch(url), daily8)
        body = normalized_text(article.body)
        for paragraph in story.paragraphs:
            assert normalized_text(paragraph) in body, (url, paragraph[:60])
        own = {normalized_text(paragraph) for paragraph in story.paragraphs}
        for related in test_site.related_to(story):
            for paragraph in related.paragraphs:
                if normalized_text(paragraph) in own:
                    continue  # an edited rewrite shares some paragraphs with its base
                assert normalized_text(paragraph) not in body, (url, related.id)
        for marker in daily8.cut_markers:
            assert marker not in article.body, (url, marker)
        assert article.title == story.title
        assert article.publisher == story.publisher
        assert article.language == story.lang
        assert article.hashtags == story.hashtags
        assert article.canonical_url == test_site.base_url + story.url_path
        checked += 1
    assert checked == len(test_site.article_urls()) >= 36


def test_relative_and_absolute_times_are_resolved(test_site: TestSite, daily8: Source) -> None:
    samples = {"3 hours ago": timedelta(hours=3), "منذ ساعة واحدة": timedelta(hours=1)}
    seen = set()
    for story in test_site.stories:
        if story.published in samples:
            article = extract_article(fetch(test_site.base_url + story.url_path), daily8)
            assert article.published_at == FETCHED_AT - samples[story.published]
            seen.add(story.published)
        elif story.published.count("-") == 2:
            article = extract_article(fetch(test_site.base_url + story.url_path), daily8)
            day, month, year = (int(part) for part in story.published.split("-"))
            assert article.published_at == datetime(year, month, day, tzinfo=UTC)
            seen.add("date")
    assert seen == {"3 hours ago", "منذ ساعة واحدة", "date"}


def test_alias_and_tracking_urls_share_canonical_and_hash(
    test_site: TestSite, daily8: Source
) -> None:
    story = next(story for story in test_site.stories if story.aliases)
    primary = extract_article(fetch(test_site.base_url + story.url_path), daily8)
    alias = extract_article(fetch(test_site.base_url + story.alias_paths[0]), daily8)
    tracked = extract_article(
        fetch(test_site.base_url + story.url_path + "?utm_source=hashtag&utm_medium=listing"),
        daily8,
    )
    assert alias.canonical_url == primary.canonical_url == tracked.canonical_url
    assert alias.content_hash == primary.content_hash == content_hash(primary.body)


def page(body: bytes, content_type: str = "text/html; charset=utf-8") -> FetchedPage:
    return FetchedPage(
        "daily8", "http://127.0.0.1/en/article/x", 200, FETCHED_AT, body, "utf-8", content_type
    )


@pytest.mark.parametrize(
    ("fetched", "reason"),
    [
        (page(b"%PDF-1.4 binary", "application/pdf"), "not an HTML page"),
        (page(b"   "), "empty page"),
        (page(b"<html><body><h1>Title</h1><p>Too short.</p></body></html>"), "no article text"),
    ],
)
def test_pages_without_an_article_say_why(
    fetched: FetchedPage, reason: str, daily8: Source
) -> None:
    with pytest.raises(ExtractionError, match=reason):
        extract_article(fetched, daily8)


def test_marker_in_navigation_does_not_cut_the_article(daily8: Source) -> None:
    paragraph = "The harbour authority said the new quay would open in spring. " * 6
    html = f"""<html lang="en"><body>
      <nav><a href="/c">Comments</a><span>Related Articles</span></nav>
      <h1>Harbour quay to open in spring</h1>
      <div class="text"><p>{paragraph}</p><p>{paragraph}</p></div>
      <h3>Related Articles</h3><div><p>{"Another story entirely about weather. " * 20}</p></div>
    </body></html>"""
    article = extract_article(page(html.encode()), daily8)
    assert "harbour authority" in article.body
    assert "weather" not in article.body


@pytest.mark.parametrize(
    ("encoding", "content_type", "place"),
    [
        ("utf-8", "text/html; charset=utf-8", "Cafés"),
        ("cp1252", "text/html; charset=windows-1252", "Cafés"),
        ("utf-16", "text/html", "Cafés"),  # with its byte-order mark
        # ESC bytes here are the encoding's own shifts, not control characters to drop
        ("iso2022_jp", "text/html; charset=iso-2022-jp", "東京"),
    ],
)
def test_control_characters_are_dropped_in_any_encoding(
    encoding: str, content_type: str, place: str, daily8: Source
) -> None:
    paragraph = "The ferry\x00 service resumed on Monday after\x07 the storm. " * 6
    html = f"""<html lang="en"><body><h1>Ferry\x0b service resumes</h1>
      <div class="text"><p>{paragraph}</p><p>{place} reopened\x1f too.</p></div></body></html>"""
    fetched = replace(page(html.encode(encoding)), content_type=content_type, encoding=None)
    article = extract_article(fetched, daily8)
    assert "The ferry service resumed on Monday after the storm." in article.body
    assert f"{place} reopened too." in article.body
    assert article.title == "Ferry service resumes"
