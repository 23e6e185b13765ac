"""Crawl and extraction overlapped on a process pool: same articles as the one-process path,
and the Daily8 cut still keeps Related Articles out of every body."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flows.config.settings import default_sources_file
from flows.config.sources import Source, load_sources
from flows.demo import DEMO_SCRAPY_SETTINGS
from flows.extract.pool import ExtractionResult, crawl_and_extract, extract_pages
from flows.fetch.crawl import crawl_source
from flows.records import CrawlResult, SeenCopy
from flows.store import articles as store
from flows.store import db
from flows.testsite import TestSite


def daily8(test_site: TestSite) -> Source:
    return load_sources(default_sources_file(), ["daily8"])[0].rebased(test_site.base_url)


def crawl_daily8(
    test_site: TestSite, spool_dir: Path, **options: Any
) -> tuple[CrawlResult, ExtractionResult]:
    """The Daily8 test site crawled and extracted on two workers, quietly."""
    return crawl_and_extract(
        daily8(test_site),
        spool_dir,
        workers=2,
        log_line=lambda line: None,
        scrapy_settings=DEMO_SCRAPY_SETTINGS,
        **options,
    )


def test_parallel_stage_matches_serial_and_keeps_related_out(
    test_site: TestSite, tmp_path: Path
) -> None:
    source = daily8(test_site)
    crawled, parallel = crawl_daily8(test_site, tmp_path / "parallel")
    serial = extract_pages(
        crawl_source(source, tmp_path / "serial", lambda line: None, DEMO_SCRAPY_SETTINGS).pages,
        source,
    )
    assert crawled.pages == []  # bodies stay on disk
    assert crawled.stats["response_received_count"] > len(parallel.articles) > 10
    assert {(a.canonical_url, a.body) for a in parallel.articles} == {
        (a.canonical_url, a.body) for a in serial.articles
    }
    assert parallel.duplicates_in_batch == serial.duplicates_in_batch > 0

    story_of_url = test_site.article_urls()
    stories = {story.id: story for story in test_site.stories}
    for article in parallel.articles:
        own = stories[story_of_url[article.canonical_url]]
        relatives = {own.id, own.edited_from} | {
            s.id for s in test_site.stories if s.edited_from == own.id
        }
        assert "Related Articles" not in article.body
        for other in test_site.stories:
            if other.id in relatives:
                continue
            for paragraph in other.paragraphs:
                assert paragraph not in article.body, (article.url, other.id)


def test_spawned_workers_hand_over_every_article_in_fetch_order(
    test_site: TestSite, tmp_path: Path
) -> None:
    """The flow stores articles as `on_articles` hands them over, while extraction goes on."""
    batches: list[list[str]] = []
    _, extracted = crawl_daily8(
        test_site,
        tmp_path / "spawned",
        on_articles=lambda articles: batches.append([a.canonical_url for a in articles]),
        start_method="spawn",
    )
    handed_over = [url for batch in batches for url in batch]
    assert handed_over == [a.canonical_url for a in extracted.articles]
    assert len(handed_over) > 10 and all(batches)
    assert all(article.story_keys for article in extracted.articles)  # keys come from workers


def test_copies_within_a_crawl_are_remembered_as_their_articles_addresses(
    test_site: TestSite, tmp_path: Path, clean_db: str
) -> None:
    """A page giving an article another page of the same crawl gave is not stored twice, but
    its address is the article's, as for a copy met in a later crawl."""
    copies: list[SeenCopy] = []
    with db.connect(clean_db) as connection:
        run_id = store.start_run(connection, ["daily8"])

        def remember(seen: list[SeenCopy]) -> None:
            copies.extend(seen)
            store.remember_copies(connection, seen)

        _, extracted = crawl_daily8(
            test_site,
            tmp_path / "copies",
            on_articles=lambda articles: store.store_articles(connection, articles, run_id),
            on_copies=remember,
        )
        addresses = {
            row["url"]: (row["canonical_url"], row["content_hash"])
            for row in connection.execute(
                """SELECT u.url, a.canonical_url, a.content_hash
                   FROM article_urls u JOIN articles a ON a.id = u.article_id"""
            )
        }
    assert len(copies) == extracted.duplicates_in_batch > 0
    for copy in copies:
        canonical_url, content_hash = addresses[copy.url]
        assert copy.canonical_url == canonical_url or copy.content_hash == content_hash
        assert copy.url not in {article.url for article in extracted.articles}
