"""Hostile pages never stop a run: each ends stored or recorded (URL and reason) in Postgres and
in the run summary, and every other page of the run is still stored."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from flows.bench.source_run import SourceRun, run_source
from flows.testsite.hostile import CASES, HostileSite
from tests.support.crawl_helpers import FAST, configured_source, empty_database, rows


@dataclass
class HostileRun:
    site: HostileSite
    run: SourceRun
    stored: set[str]
    recorded: dict[str, str]


@pytest.fixture(scope="module")
def hostile(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[HostileRun]:
    empty_database(database_url)
    with HostileSite() as site:
        source = configured_source("hostile", site.base_url)
        run = run_source(source, tmp_path_factory.mktemp("hostile"), database_url, FAST)
        stored = {row[0] for row in rows(database_url, "SELECT url FROM articles")}
        recorded = {
            row[0]: row[1]
            for row in rows(
                database_url,
                "SELECT url, reason FROM fetch_errors WHERE run_id = %s",
                run.summary.run_id,
            )
        }
        yield HostileRun(site, run, stored, recorded)


@pytest.mark.parametrize("path", sorted(CASES))
def test_hostile_case(hostile: HostileRun, path: str) -> None:
    url = hostile.site.base_url + path
    expected = CASES[path]
    summary_errors = {e.url: e.reason for e in hostile.run.summary.errors}
    if expected == "stored":
        assert url in hostile.stored, summary_errors.get(url)
        assert url not in hostile.recorded
    else:
        assert url not in hostile.stored
        assert expected in hostile.recorded.get(url, ""), hostile.recorded.get(url)
        assert expected in summary_errors.get(url, "")


def test_charsets_are_decoded_right(hostile: HostileRun, database_url: str) -> None:
    titles = {row[0]: row[1] for row in rows(database_url, "SELECT url, title FROM articles")}
    bodies = {row[0]: row[1] for row in rows(database_url, "SELECT url, body FROM articles")}
    base = hostile.site.base_url
    assert titles[base + "/h/no-charset"] == "Crème brûlée wins the quay bake-off"
    assert titles[base + "/h/wrong-charset"] == "Café owners on the ferry quay"
    assert "The café stays open." in bodies[base + "/h/wrong-charset"]


def test_back_off_waits_for_retry_after(hostile: HostileRun) -> None:
    busy = hostile.site.hits_for("/h/busy")
    assert len(busy) == 2
    assert busy[1].at - busy[0].at >= 0.95  # Retry-After: 1
    unavailable = hostile.site.hits_for("/h/unavailable")
    assert len(unavailable) == 1  # asked for an hour: over the cap, not retried in this run


def test_nothing_else_was_lost(hostile: HostileRun) -> None:
    stored_cases = {p for p, e in CASES.items() if e == "stored"}
    failing_cases = set(CASES) - stored_cases
    assert len(hostile.stored) == len(stored_cases)
    assert {url.removeprefix(hostile.site.base_url) for url in hostile.recorded} == failing_cases


def test_entry_page_with_failed_links_keeps_no_validator(
    hostile: HostileRun, database_url: str
) -> None:
    """Its next run must fetch the index in full and try the failed links again."""
    kept = rows(database_url, "SELECT url FROM http_validators WHERE source = 'hostile'")
    assert kept == []
    assert hostile.run.crawled.validators == []
    assert hostile.site.hits_for("/hostile/")  # it was fetched, with validators offered
