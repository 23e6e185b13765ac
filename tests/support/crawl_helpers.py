"""Shared by the crawl tests: the test sources file, and emptying the session database."""

from __future__ import annotations

from pathlib import Path

import psycopg

from flows.config.settings import REPO_ROOT
from flows.config.sources import Source, load_sources

TEST_SOURCES = REPO_ROOT / "flows" / "testsite" / "sources.toml"
FAST = {"AUTOTHROTTLE_ENABLED": "False", "LOG_LEVEL": "INFO"}


def configured_source(name: str, origin: str) -> Source:
    return load_sources(TEST_SOURCES, [name])[0].rebased(origin)


def empty_database(url: str) -> None:
    with psycopg.connect(url, autocommit=True) as connection:
        tables = [
            row[0]
            for row in connection.execute(
                "SELECT quote_ident(tablename) FROM pg_tables"
                " WHERE schemaname = 'public' AND tablename NOT LIKE '%yoyo%'"
            )
        ]
        connection.execute(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE")


def rows(url: str, query: str, *params: object) -> list[tuple]:
    with psycopg.connect(url) as connection:
        return list(connection.execute(query, params).fetchall())


def spool(tmp: Path, name: str) -> Path:
    path = tmp / name
    path.mkdir(parents=True, exist_ok=True)
    return path
