"""The crawl's link to Postgres: which database, and one shared connection for the middlewares.

The connection survives a reconnect: a query that finds it broken (Postgres restarted, the
backend terminated) opens a new one and runs again, for up to NEWSWATCH_DB_RECONNECT_SECONDS.
Past that the database counts as lost for the rest of the crawl and every query fails at once,
so the pages that needed it become errors of the run (and their entry pages are fetched in
full next time) instead of each waiting out the same outage.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable
from typing import ClassVar, TypeVar

import psycopg
from psycopg.rows import dict_row
from scrapy.crawler import Crawler
from scrapy.settings import BaseSettings

from flows.fetch import history, robots_cache
from flows.records import Validator
from flows.store.db import Connection

_resolved: dict[str, str | None] = {}
log = logging.getLogger(__name__)
T = TypeVar("T")


class CrawlDatabaseLost(psycopg.OperationalError):
    """The crawl's database stayed unreachable past the reconnect window."""


def crawl_database_url(settings: BaseSettings) -> str | None:
    """NEWSWATCH_DATABASE_URL; else, for a plain `scrapy crawl`, the database the flow would use.

    A crawl run by the flow (NEWSWATCH_SPOOL_DIR set) gets its URL from the flow or runs without
    a database; NEWSWATCH_INCREMENTAL=False turns the database off altogether.
    """
    if not settings.getbool("NEWSWATCH_INCREMENTAL", True):
        return None
    url = settings.get("NEWSWATCH_DATABASE_URL")
    if url:
        return str(url)
    if settings.get("NEWSWATCH_SPOOL_DIR"):
        return None
    if "standalone" not in _resolved:
        from flows.config.settings import Settings
        from flows.store import db

        _resolved["standalone"] = db.prepare(Settings())
    return _resolved["standalone"]


class CrawlState:
    """Known URLs and validators for the crawls of this process, over one connection (queries
    take a millisecond). A fleet crawl runs many crawlers in one reactor thread: they share it
    rather than open a connection each, and the last crawler to release it closes it."""

    _shared: ClassVar[dict[str, CrawlState]] = {}

    def __init__(self, database_url: str, reconnect_seconds: float = 10.0) -> None:
        self.database_url = database_url
        self.reconnect_seconds = reconnect_seconds
        self._connection: Connection | None = None
        self._lost: str | None = None
        self._users = 0

    @classmethod
    def for_crawler(cls, crawler: Crawler) -> CrawlState | None:
        """One instance per crawler, shared by the middlewares that need it."""
        existing = getattr(crawler, "_newswatch_state", None)
        if existing is None:
            url = crawl_database_url(crawler.settings)
            if url is None:
                return None
            existing = cls._shared.get(url)
            if existing is None:
                reconnect = crawler.settings.getfloat("NEWSWATCH_DB_RECONNECT_SECONDS", 10.0)
                existing = cls._shared[url] = cls(url, reconnect)
            existing._users += 1
            crawler._newswatch_state = existing  # type: ignore[attr-defined]
        return existing

    @property
    def connection(self) -> Connection:
        if self._connection is None:
            self._connection = psycopg.connect(
                self.database_url, row_factory=dict_row, autocommit=True
            )
        return self._connection

    def _run(self, query: Callable[[Connection], T]) -> T:
        if self._lost is not None:
            raise CrawlDatabaseLost(self._lost)
        deadline = time.monotonic() + self.reconnect_seconds
        pause = 0.2
        while True:
            try:
                return query(self.connection)
            except psycopg.OperationalError as exc:
                self._disconnect()
                if time.monotonic() + pause > deadline:
                    self._lost = f"the crawl's database is unreachable: {exc}".strip()
                    raise CrawlDatabaseLost(self._lost) from exc
                log.warning("crawl database connection lost (%s); reconnecting", exc)
                time.sleep(pause)
                pause = min(pause * 2, 2.0)

    def known_urls(self, urls: list[str]) -> set[str]:
        return self._run(lambda connection: history.known_urls(connection, urls))

    def validator(self, url: str) -> Validator | None:
        return self._run(lambda connection: history.load_validator(connection, url))

    def save_validators(self, source: str, validators: list[Validator]) -> int:
        return self._run(lambda connection: history.save_validators(connection, source, validators))

    def cached_robots(self, origin: str) -> tuple[int, bytes] | None:
        return self._run(lambda connection: robots_cache.load_robots(connection, origin))

    def keep_robots(self, origin: str, status: int, body: bytes, lifetime: float) -> None:
        self._run(
            lambda connection: robots_cache.save_robots(connection, origin, status, body, lifetime)
        )

    def close(self) -> None:
        """One crawler is done with it; the connection closes when no crawler uses it."""
        self._users -= 1
        if self._users > 0:
            return
        self._shared.pop(self.database_url, None)
        self._disconnect()

    def _disconnect(self) -> None:
        if self._connection is not None:
            with contextlib.suppress(psycopg.Error):  # already broken
                self._connection.close()
            self._connection = None
