"""The second test site (the Ledger), monitored through its sources block only: feed, robots.txt
sitemap index -> news sitemap, paginated sections; then an unchanged rerun that fetches no article.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from flows.bench.source_run import SourceRun, run_source
from flows.config.settings import Settings
from flows.config.sources import Pagination
from flows.testsite.publisher import EMBARGOED_PATH, PublisherSite
from tests.support.crawl_helpers import FAST, configured_source, empty_database, rows

CRAWL_DELAY = 0.25


class LedgerRuns:
    def __init__(
        self, site: PublisherSite, first: SourceRun, rerun: SourceRun, rerun_paths: list[str]
    ):
        self.site = site
        self.first = first
        self.rerun = rerun
        self.rerun_paths = rerun_paths


@pytest.fixture(scope="module")
def ledger(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LedgerRuns]:
    empty_database(database_url)
    tmp = tmp_path_factory.mktemp("ledger")
    with PublisherSite(crawl_delay=CRAWL_DELAY) as site:
        source = configured_source("ledger", site.base_url)
        first = run_source(source, tmp / "first", database_url, FAST)
        first_hits = list(site.hits)
        site.reset_hits()
        rerun = run_source(source, tmp / "rerun", database_url, FAST)
        runs = LedgerRuns(site, first, rerun, site.paths())
        runs.first_hits = first_hits  # type: ignore[attr-defined]
        yield runs


def test_every_story_is_found_through_feed_sitemap_and_pagination(
    ledger: LedgerRuns, database_url: str
) -> None:
    stored = {
        row[0] for row in rows(database_url, "SELECT url FROM articles WHERE source = 'ledger'")
    }
    assert stored == set(ledger.site.story_urls())
    assert ledger.first.summary.articles_new == 13
    assert ledger.first.errors == []
    paths = [hit.path for hit in ledger.first_hits]  # type: ignore[attr-defined]
    # only-in-feed, only-in-sitemap and only-on-page-2 stories prove each entry kind was used
    assert "/feed.xml" in paths and "/sitemap-index.xml" in paths and "/sitemaps/news.xml" in paths
    assert "/section/city?page=2" in paths
    assert "/section/city?page=3" not in paths  # past the last page there is no next link


def test_published_times_are_kept_to_the_minute(ledger: LedgerRuns, database_url: str) -> None:
    """Each story page declares its time with an offset (article:published_time): stored exact."""
    stored = dict(
        rows(database_url, "SELECT url, published_at FROM articles WHERE source = 'ledger'")
    )
    declared = {url: story.date for url, story in ledger.site.story_urls().items()}
    assert stored == declared
    assert {when.utcoffset() for when in declared.values()} != {timedelta(0)}


def test_boilerplate_is_cut(ledger: LedgerRuns, database_url: str) -> None:
    bodies = [row[0] for row in rows(database_url, "SELECT body FROM articles")]
    for body in bodies:
        assert "Morning Ledger" not in body and "cookies" not in body
        assert "More from the Ledger" not in body and "Most read" not in body


def test_robots_rules_crawl_delay_and_user_agent(ledger: LedgerRuns) -> None:
    hits = ledger.first_hits  # type: ignore[attr-defined]
    assert EMBARGOED_PATH not in [hit.path for hit in hits]
    assert ledger.first.summary.skipped.get("robots") == 1
    times = sorted(hit.at for hit in hits if hit.path != "/robots.txt")
    gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
    # Crawl-delay spaces requests to the host (a little slack for timer granularity)
    assert min(gaps) >= CRAWL_DELAY * 0.9, gaps
    agent = Settings().resolved_user_agent
    assert {hit.headers.get("user-agent") for hit in hits} == {agent}
    assert "newswatch" in agent and Settings().contact_url in agent


def test_rerun_fetches_only_entry_points_and_stores_nothing(ledger: LedgerRuns) -> None:
    assert not [path for path in ledger.rerun_paths if path.startswith("/stories/")]
    assert ledger.rerun.summary.articles_new == 0
    assert ledger.rerun.crawled.pages == []
    skipped = ledger.rerun.summary.skipped
    # robots.txt is read in full (it names the sitemaps); feed, index and sections answer 304
    assert skipped["not_modified"] == 5, skipped
    assert set(ledger.rerun_paths) == {
        "/robots.txt",
        "/feed.xml",
        "/sitemap-index.xml",
        "/section/city",
        "/section/science",
        "/section/culture",
    }


def test_unchanged_rerun_starts_no_crawl_and_stays_polite(ledger: LedgerRuns) -> None:
    """Every entry point answered 304 to the flow's own probe, so no crawl process was started;
    the probe sent the same User-Agent and kept robots.txt's Crawl-delay."""
    assert ledger.rerun.crawled.stats.get("newswatch/entry_probe"), ledger.rerun.crawled.stats
    hits = [hit for hit in ledger.site.hits if hit.path != "/robots.txt"]
    assert {hit.headers.get("user-agent") for hit in hits} == {Settings().resolved_user_agent}
    assert all(hit.headers.get("if-none-match") for hit in hits)
    times = sorted(hit.at for hit in hits)
    gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
    assert min(gaps) >= CRAWL_DELAY * 0.9, gaps


def test_one_changed_entry_point_starts_the_crawl(
    ledger: LedgerRuns, database_url: str, tmp_path: Path
) -> None:
    base = ledger.site.base_url
    rows(
        database_url,
        "UPDATE http_validators SET etag = '\"stale\"', last_modified = NULL"
        " WHERE url = %s RETURNING url",
        f"{base}/section/culture",
    )
    ledger.site.reset_hits()
    source = configured_source("ledger", base)
    again = run_source(source, tmp_path / "changed", database_url, FAST)
    assert "newswatch/entry_probe" not in again.crawled.stats  # the crawl itself ran
    assert again.summary.skipped.get("known_url", 0) > 0  # and still fetched no known article
    assert not [p for p in ledger.site.paths() if p.startswith("/stories/")]
    assert again.summary.articles_new == 0
    kept = rows(
        database_url, "SELECT etag FROM http_validators WHERE url = %s", f"{base}/section/culture"
    )
    assert kept and kept[0][0] != '"stale"'  # the fresh validator replaced the stale one


def test_validators_are_kept_in_postgres(ledger: LedgerRuns, database_url: str) -> None:
    kept = {row[0] for row in rows(database_url, "SELECT url FROM http_validators")}
    base = ledger.site.base_url
    assert f"{base}/feed.xml" in kept and f"{base}/sitemaps/news.xml" in kept
    assert f"{base}/section/city" in kept and f"{base}/section/city?page=2" in kept


def test_known_urls_skipped_when_entry_pages_changed(
    ledger: LedgerRuns, database_url: str, tmp_path: Path
) -> None:
    """Without validators (a site that sends none), known article URLs are still not fetched,
    and each is marked as seen again (the story page's "last seen")."""
    rows(database_url, "DELETE FROM http_validators RETURNING url")
    rows(
        database_url,
        "UPDATE article_urls SET last_seen_at = now() - interval '1 hour' RETURNING url",
    )
    ledger.site.reset_hits()
    source = configured_source("ledger", ledger.site.base_url)
    again = run_source(source, tmp_path / "again", database_url, FAST)
    assert not [p for p in ledger.site.paths() if p.startswith("/stories/")]
    assert again.summary.skipped["known_url"] == 13
    assert again.summary.articles_new == 0
    seen = rows(
        database_url,
        "SELECT count(DISTINCT article_id) FROM article_urls"
        " WHERE last_seen_at > now() - interval '10 minutes'",
    )
    stored = rows(database_url, "SELECT count(*) FROM articles")
    assert seen == stored == [(13,)]


def test_refresh_known_fetches_stored_articles_again(
    ledger: LedgerRuns, database_url: str, tmp_path: Path
) -> None:
    ledger.site.reset_hits()
    source = configured_source("ledger", ledger.site.base_url).model_copy(
        update={"refresh_known": True}
    )
    again = run_source(source, tmp_path / "refresh", database_url, FAST)
    assert len([p for p in ledger.site.paths() if p.startswith("/stories/")]) == 13
    assert again.summary.articles_new == 0 and again.summary.articles_duplicate == 13


def test_numbered_pages_are_followed_and_bounded(database_url: str, tmp_path: Path) -> None:
    empty_database(database_url)
    with PublisherSite(crawl_delay=0) as site:
        source = configured_source("ledger", site.base_url).model_copy(
            update={
                "feeds": [],
                "sitemaps_from_robots": False,
                "start_urls": [site.base_url + "/section/city?page=1"],
                "pagination": Pagination(page_param="page", max_pages=5),
            }
        )
        run_source(source, tmp_path, database_url, FAST)
        paths = site.paths()
        city = [s for s in site.stories if s.section == "city" and "section" in s.listed_in]
        most_read = site.stories[:4]  # the sidebar of every page links these
        expected = {site.base_url + s.path for s in [*city, *most_read]}
    assert "/section/city?page=2" in paths
    assert "/section/city?page=3" in paths  # a 404: the numbered listing ends there
    assert "/section/city?page=4" not in paths
    stored = {row[0] for row in rows(database_url, "SELECT url FROM articles")}
    assert stored == expected
