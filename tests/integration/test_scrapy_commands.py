"""Scrapy's own commands from the repository root: `scrapy list`, `scrapy crawl SOURCE -s ...`,
feeding the same extraction, store and database as the flow."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from flows.config.settings import REPO_ROOT
from flows.testsite.hostile import HostileSite
from flows.testsite.publisher import PublisherSite
from tests.support.crawl_helpers import TEST_SOURCES, rows


def scrapy(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "scrapy", *args],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, **(env or {})},
    )


def test_scrapy_list_shows_the_configured_sources() -> None:
    shipped = scrapy("list")
    assert shipped.returncode == 0, shipped.stderr
    assert shipped.stdout.split() == ["daily8"]
    other = scrapy("list", "-s", f"NEWSWATCH_SOURCES_FILE={TEST_SOURCES}")
    assert other.stdout.split() == ["hostile", "ledger"]


def test_scrapy_crawl_stores_into_the_database_and_reruns_incrementally(
    clean_db: str,
) -> None:
    with PublisherSite(crawl_delay=0) as site:
        arguments = [
            "crawl",
            "ledger",
            "-s",
            f"NEWSWATCH_SOURCES_FILE={TEST_SOURCES}",
            "-s",
            f"NEWSWATCH_ORIGIN={site.base_url}",
            "-s",
            "AUTOTHROTTLE_ENABLED=False",
        ]
        first = scrapy(*arguments, env={"DATABASE_URL": clean_db})
        assert first.returncode == 0, first.stderr[-3000:]
        site.reset_hits()
        second = scrapy(*arguments, env={"DATABASE_URL": clean_db})
        assert second.returncode == 0, second.stderr[-3000:]
        rerun_paths = site.paths()
    runs = rows(clean_db, "SELECT status, articles_new, summary FROM runs ORDER BY id")
    assert [(status, new) for status, new, _ in runs] == [("completed", 13), ("completed", 0)]
    assert rows(clean_db, "SELECT count(*) FROM articles WHERE source = 'ledger'")[0][0] == 13
    assert runs[1][2]["skipped"]["not_modified"] == 5
    assert not [path for path in rerun_paths if path.startswith("/stories/")]


@pytest.mark.parametrize("setting", ["CLOSESPIDER_PAGECOUNT=3"])
def test_dash_s_overrides_a_setting(clean_db: str, setting: str) -> None:
    with PublisherSite(crawl_delay=0) as site:
        result = scrapy(
            "crawl",
            "ledger",
            "-s",
            f"NEWSWATCH_SOURCES_FILE={TEST_SOURCES}",
            "-s",
            f"NEWSWATCH_ORIGIN={site.base_url}",
            "-s",
            setting,
            env={"DATABASE_URL": clean_db},
        )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "'finish_reason': 'closespider_pagecount'" in result.stderr
    # a capped crawl keeps no validators: its next run must look at every entry point again
    assert rows(clean_db, "SELECT count(*) FROM http_validators")[0][0] == 0


def test_time_cap_ends_the_crawl_and_keeps_what_it_got(clean_db: str) -> None:
    with HostileSite() as site:
        result = scrapy(
            "crawl",
            "hostile",
            "-s",
            f"NEWSWATCH_SOURCES_FILE={TEST_SOURCES}",
            "-s",
            f"NEWSWATCH_ORIGIN={site.base_url}",
            "-s",
            "CLOSESPIDER_TIMEOUT=1.5",
            env={"DATABASE_URL": clean_db},
        )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "'finish_reason': 'closespider_timeout'" in result.stderr
    ((status, summary),) = rows(clean_db, "SELECT status, summary FROM runs")
    assert status == "completed"
    assert summary["articles_new"] >= 1  # pages fetched before the cap are stored
