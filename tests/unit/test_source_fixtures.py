"""Every configured source has a recorded test page and its expected extraction (as in Fundus).

Adding a source block without tests/fixtures/sources/<name>/page.html and expected.json fails
here, so each site's configuration is checked against a page of its shape before it ships.
Fixture pages are written for this project, never copied from the real sites.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest

from flows.config.settings import REPO_ROOT
from flows.config.sources import Source, load_sources
from flows.extract.article import extract_article
from flows.records import FetchedPage

FIXTURES = REPO_ROOT / "tests" / "fixtures" / "sources"
SOURCES_FILES = (REPO_ROOT / "sources.toml", REPO_ROOT / "flows" / "testsite" / "sources.toml")
ALL_SOURCES = [source for path in SOURCES_FILES for source in load_sources(path)]


@pytest.mark.parametrize("source", ALL_SOURCES, ids=lambda source: source.name)
def test_source_has_a_recorded_page_with_expected_extraction(source: Source) -> None:
    folder = FIXTURES / source.name
    page_file, expected_file = folder / "page.html", folder / "expected.json"
    missing = [str(p.relative_to(REPO_ROOT)) for p in (page_file, expected_file) if not p.exists()]
    assert not missing, (
        f"source {source.name!r} has no recorded test page: add {', '.join(missing)}"
    )
    expected = json.loads(expected_file.read_text(encoding="utf-8"))
    page = FetchedPage(
        source=source.name,
        url=expected["url"],
        status=200,
        fetched_at=datetime.fromisoformat(expected["fetched_at"]),
        body=page_file.read_bytes(),
        content_type="text/html",
    )
    article = extract_article(page, source)
    assert article.title == expected["title"]
    assert article.body == expected["body"]
    assert article.canonical_url == expected["canonical_url"]
    assert article.language == expected["language"]
    assert article.publisher == expected["publisher"]
    assert list(article.hashtags) == expected["hashtags"]
    published = article.published_at.isoformat() if article.published_at else None
    assert published == expected["published_at"]
    assert source.is_article(expected["url"]) or not source.start_urls


def test_every_fixture_belongs_to_a_source() -> None:
    """A renamed source must take its fixture along."""
    names = {source.name for source in ALL_SOURCES}
    assert {folder.name for folder in FIXTURES.iterdir() if folder.is_dir()} <= names


def test_a_source_without_fixture_is_reported(tmp_path: Path) -> None:
    sources = tmp_path / "sources.toml"
    sources.write_text('[[source]]\nname = "newsite"\nfeeds = ["https://news.example/rss"]\n')
    (source,) = load_sources(sources)
    with pytest.raises(AssertionError, match="has no recorded test page"):
        test_source_has_a_recorded_page_with_expected_extraction(source)
