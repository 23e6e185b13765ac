"""The fetch stage against the test site over loopback: child-process crawls, robots.txt obeyed."""

from __future__ import annotations

from pathlib import Path

from flows.config.settings import REPO_ROOT
from flows.config.sources import load_sources
from flows.demo import DEMO_SCRAPY_SETTINGS
from flows.fetch.crawl import crawl_source
from flows.testsite import TestSite


def test_two_crawls_in_one_process_fetch_every_article(test_site: TestSite, tmp_path: Path) -> None:
    (daily8,) = load_sources(REPO_ROOT / "sources.toml", ["daily8"])
    source = daily8.rebased(test_site.base_url)
    expected = {url for url in test_site.article_urls()}
    log_lines: list[str] = []
    for attempt in (1, 2):  # a second crawl must not hit ReactorNotRestartable
        result = crawl_source(
            source, tmp_path / f"spool{attempt}", log_lines.append, DEMO_SCRAPY_SETTINGS
        )
        fetched = {page.url for page in result.pages}
        assert fetched == expected
        assert all(page.status == 200 and page.body for page in result.pages)
        assert result.errors == []
        assert result.stats["response_received_count"] > len(expected)
    assert any("INFO [scrapy.core.engine] Spider closed (finished)" in line for line in log_lines)
    # Scrapy 2.19 would otherwise serve a code-execution endpoint from every crawl child.
    assert not any("Remote control HTTP server" in line for line in log_lines)
    hits = test_site.hits_snapshot()
    assert hits["/robots.txt"] >= 2
    assert not any(path.startswith("/private/") for path in hits)
    assert not any("utm_" in path for path in hits), "tracking variants must be canonicalized"


def test_page_cap_bounds_the_crawl(test_site: TestSite, tmp_path: Path) -> None:
    (daily8,) = load_sources(REPO_ROOT / "sources.toml", ["daily8"])
    source = daily8.rebased(test_site.base_url).model_copy(update={"max_pages": 5})
    result = crawl_source(source, tmp_path / "spool", lambda line: None, DEMO_SCRAPY_SETTINGS)
    # Five pages of the site, plus robots.txt; the rest are skipped and counted as such.
    assert int(result.stats["response_received_count"]) == 6
    assert len(result.pages) == 4
    assert int(result.stats["newswatch/skipped/page_budget"]) > 0
