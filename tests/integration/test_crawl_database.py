"""The crawl child's database going away while it checks an entry page's links (defect: the
site was lost for good). A broken connection is reopened and nothing is lost; a database that
stays away makes the page an error of the run, and its validators are not kept, so the next
run fetches it in full and finds every story."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
import pytest

from flows.bench.source_run import run_source
from flows.config.settings import REPO_ROOT
from flows.config.sources import Source, load_sources
from flows.fetch.crawl import crawl_source
from flows.testsite import TestSite
from flows.testsite.server import _Response
from tests.support.crawl_helpers import FAST, rows


def _database_name(url: str) -> str:
    with psycopg.connect(url) as connection:
        row = connection.execute("SELECT current_database()").fetchone()
    assert row is not None
    return str(row[0])


def _server_url(url: str) -> str:
    return url.replace(f"/{_database_name(url)}", "/postgres", 1)


def terminate_other_backends(url: str) -> None:
    """What a Postgres restart does to every open connection of the crawl."""
    name = _database_name(url)
    with psycopg.connect(_server_url(url), autocommit=True) as connection:
        connection.execute(
            """SELECT pg_terminate_backend(pid) FROM pg_stat_activity
               WHERE datname = %s AND pid <> pg_backend_pid()""",
            (name,),
        )


class HookedSite(TestSite):
    """The Daily8 test site, calling `on_entry` once, just before it serves the entry page;
    the crawl child holds its database connection by then (it asked for the page's
    validators)."""

    __test__ = False

    def __init__(self, on_entry: Callable[[], None]) -> None:
        super().__init__()
        self.on_entry = on_entry
        self._fired = threading.Event()

    def _respond(self, raw_path: str, host: str) -> _Response:
        if urlsplit(raw_path).path == "/en" and not self._fired.is_set():
            self._fired.set()
            self.on_entry()
        return super()._respond(raw_path, host)


def _daily8(site: TestSite) -> Source:
    (source,) = load_sources(REPO_ROOT / "sources.toml", ["daily8"])
    return source.rebased(site.base_url)


FAST_DAILY8 = {**FAST, "DOWNLOAD_DELAY": "0", "CONCURRENT_REQUESTS_PER_DOMAIN": "8"}


@pytest.fixture
def blockable(clean_db: str) -> Iterator[Callable[[bool], None]]:
    """Close (or reopen) the test database to new connections, as an outage would."""
    name = _database_name(clean_db)
    server = _server_url(clean_db)

    def allow(allowed: bool) -> None:
        with psycopg.connect(server, autocommit=True) as admin:
            admin.execute(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS {str(allowed).lower()}')

    yield allow
    allow(True)


def test_crawl_reconnects_when_its_connection_breaks(clean_db: str, tmp_path: Path) -> None:
    with HookedSite(lambda: terminate_other_backends(clean_db)) as site:
        run = run_source(_daily8(site), tmp_path / "spool", clean_db, FAST_DAILY8)
        expected = {story.id for story in site.stories}
    assert run.errors == []
    stored = {
        url.rsplit("/", 1)[1] for (url,) in rows(clean_db, "SELECT canonical_url FROM articles")
    }
    assert stored == expected


def test_lost_database_is_an_error_and_keeps_no_validator(
    clean_db: str, tmp_path: Path, blockable: Callable[[bool], None]
) -> None:
    name = _database_name(clean_db)
    server = _server_url(clean_db)

    def outage() -> None:
        blockable(False)
        with psycopg.connect(server, autocommit=True) as connection:
            connection.execute(
                """SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                   WHERE datname = %s AND pid <> pg_backend_pid()""",
                (name,),
            )

    with HookedSite(outage) as site:
        source = _daily8(site)
        entry = source.start_urls[0]
        lost = crawl_source(
            source,
            tmp_path / "first",
            log_line=lambda line: None,
            scrapy_settings={**FAST_DAILY8, "NEWSWATCH_DB_RECONNECT_SECONDS": "1"},
            database_url=clean_db,
        )
        blockable(True)
        reasons = [e.reason for e in lost.errors if e.url == entry]
        assert reasons and "database" in reasons[0], lost.errors
        assert entry not in {validator.url for validator in lost.validators}
        site.hits.clear()
        again = run_source(source, tmp_path / "again", clean_db, FAST_DAILY8)
        assert site.hits["/en"] == 1  # fetched again, in full
        expected = {story.id for story in site.stories}
    assert again.errors == []
    stored = {
        url.rsplit("/", 1)[1] for (url,) in rows(clean_db, "SELECT canonical_url FROM articles")
    }
    assert stored == expected
