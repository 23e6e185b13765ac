"""The crawl's link to Postgres: which database, and one shared connection for the middlewares."""

from __future__ import annotations

from typing import ClassVar

import psycopg
from psycopg.rows import dict_row
from scrapy.crawler import Crawler
from scrapy.settings import BaseSettings

from flows.fetch import history
from flows.records import Validator
from flows.store.db import Connection

_resolved: dict[str, str | None] = {}


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
    take a millisecond). A fleet crawl runs many crawlers in one reactor thread: they share it,
    rather than opening a connection each; the last crawler to close it closes it."""

    _shared: ClassVar[dict[str, CrawlState]] = {}

    def __init__(self, database_url: str) -> None:
        self.database_url = database_url
        self._connection: Connection | None = None
        self._users = 0

    @classmethod
    def for_crawler(cls, crawler: Crawler) -> CrawlState | None:
        """One instance per database, shared by the middlewares and crawlers that need it."""
        existing = getattr(crawler, "_newswatch_state", None)
        if existing is None:
            url = crawl_database_url(crawler.settings)
            if url is None:
                return None
            existing = cls._shared.get(url)
            if existing is None:
                existing = cls._shared[url] = cls(url)
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

    def known_urls(self, urls: list[str]) -> set[str]:
        return history.known_urls(self.connection, urls)

    def validator(self, url: str) -> Validator | None:
        return history.load_validator(self.connection, url)

    def save_validators(self, source: str, validators: list[Validator]) -> int:
        return history.save_validators(self.connection, source, validators)

    def close(self) -> None:
        """One crawler is done with it; the connection closes when no crawler uses it."""
        self._users -= 1
        if self._users > 0:
            return
        self._shared.pop(self.database_url, None)
        if self._connection is not None:
            self._connection.close()
            self._connection = None
