"""Through the Prefect flow: the second site monitored by configuration alone, an unchanged
rerun that fetches no article, and hostile pages recorded in the summary and in Postgres."""

from __future__ import annotations

import pytest

from flows.config.settings import Settings
from flows.testsite.hostile import CASES, HostileSite
from flows.testsite.publisher import PublisherSite
from tests.support.crawl_helpers import FAST, TEST_SOURCES, rows

pytestmark = pytest.mark.slow


def monitor(source: str, origin: str) -> dict[str, object]:
    from flows.flow import monitor as flow

    return flow(
        sources_file=str(TEST_SOURCES),
        source_names=[source],
        origin=origin,
        scrapy_settings=FAST,
    )


def test_ledger_by_configuration_then_unchanged_rerun(
    prefect_api: None, settings: Settings, clean_db: str
) -> None:
    with PublisherSite(crawl_delay=0) as site:
        first = monitor("ledger", site.base_url)
        site.reset_hits()
        rerun = monitor("ledger", site.base_url)
        rerun_paths = site.paths()
    assert first["articles_new"] == 13 and first["errors"] == []
    assert rerun["articles_new"] == 0
    assert not [path for path in rerun_paths if path.startswith("/stories/")]
    assert rerun["skipped"] == {"not_modified": 5}
    stored = rows(clean_db, "SELECT summary FROM runs ORDER BY id")
    assert stored[1][0]["skipped"] == {"not_modified": 5}


def test_hostile_pages_are_in_the_summary_and_in_postgres(
    prefect_api: None, settings: Settings, clean_db: str
) -> None:
    with HostileSite() as site:
        summary = monitor("hostile", site.base_url)
    failing = {site.base_url + path: words for path, words in CASES.items() if words != "stored"}
    in_summary = {error["url"]: error["reason"] for error in summary["errors"]}  # type: ignore[attr-defined]
    in_postgres = dict(rows(clean_db, "SELECT url, reason FROM fetch_errors"))
    for url, words in failing.items():
        assert words in in_summary[url] and words in in_postgres[url]
    assert summary["articles_new"] == len(CASES) - len(failing)
