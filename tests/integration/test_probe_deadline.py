"""A site dripping a byte every half second (defect: a run that never ends). The entry probe's
per-read timeout never fires on it; its deadline for the whole answer does, and the crawl's
own download timeout ends the source with an error instead of a wait."""

from __future__ import annotations

from pathlib import Path

from flows.config.sources import Source
from flows.fetch import history
from flows.fetch.crawl import crawl_source
from flows.fetch.probe import probe_entry_points
from flows.records import Validator
from flows.store import db
from tests.support.crawl_helpers import FAST
from tests.support.drip import DripSite, UnsizedSite


def _slow_source(site: DripSite) -> Source:
    return Source(
        name="slow",
        start_urls=[site.base_url + "/en"],
        article_url_patterns=["^/article/"],
        download_timeout=2.0,
        retry_times=0,
        download_delay=0,
        max_seconds=60,
    )


def test_probe_gives_up_on_a_dripping_robots_txt(clean_db: str) -> None:
    with DripSite(seconds=20) as site:
        source = _slow_source(site)
        with db.connect(clean_db) as connection:
            history.save_validators(connection, "slow", [Validator(source.start_urls[0], '"v1"')])
            outcome = probe_entry_points(source, connection, "newswatch-test")
        assert site.requests == ["/robots.txt"]
    assert not outcome.unchanged
    assert "no complete answer within 2 s" in outcome.reason, outcome.reason


def test_crawl_of_a_dripping_site_ends_with_errors(clean_db: str, tmp_path: Path) -> None:
    with DripSite(seconds=20) as site:
        source = _slow_source(site)
        with db.connect(clean_db) as connection:
            history.save_validators(connection, "slow", [Validator(source.start_urls[0], '"v1"')])
        lines: list[str] = []
        result = crawl_source(
            source,
            tmp_path / "spool",
            log_line=lines.append,
            scrapy_settings={"AUTOTHROTTLE_ENABLED": "False"},
            database_url=clean_db,
        )
    assert len(result.errors) == 1, lines[-40:]
    (error,) = result.errors
    assert error.url == source.start_urls[0]
    assert "timeout" in error.reason or "took longer" in error.reason, error.reason


def test_big_answer_without_content_length_says_why(tmp_path: Path) -> None:
    with UnsizedSite() as site:
        source = _slow_source(site).model_copy(
            update={"max_response_bytes": 65536, "download_timeout": 30.0}
        )
        result = crawl_source(
            source, tmp_path / "spool", log_line=lambda line: None, scrapy_settings=FAST
        )
    (error,) = result.errors
    assert error.reason.startswith("over the size cap of 65536 bytes"), error.reason
