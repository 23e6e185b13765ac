"""Shared fixtures: real Postgres (embedded, or DATABASE_URL), the test site, SMTP, Prefect."""

from __future__ import annotations

import os
import secrets
import socket
import tempfile
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest

# Everything a test run writes lives in one temporary data directory, set before any import
# of flows.settings or prefect reads the environment.
_SESSION_DIR = Path(tempfile.mkdtemp(prefix="newswatch-tests-"))
os.environ["NEWSWATCH_DATA_DIR"] = str(_SESSION_DIR / "data")
_EXTERNAL_DATABASE_URL = os.environ.pop("DATABASE_URL", None)

from flows.prefect_env import configure_prefect_environment  # noqa: E402
from flows.settings import Settings  # noqa: E402

configure_prefect_environment(Settings())

from flows import db  # noqa: E402
from flows.testsite import TestSite  # noqa: E402
from tests.crawl_helpers import empty_database  # noqa: E402


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, ""))


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    """A fresh database for this test session on the embedded server, or on DATABASE_URL's."""
    pgdata = Path(os.environ["NEWSWATCH_DATA_DIR"]) / "pgdata"
    server_url = _EXTERNAL_DATABASE_URL or db.embedded_database_url(pgdata)
    name = f"newswatch_test_{secrets.token_hex(4)}"
    with psycopg.connect(server_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    url = _with_database(server_url, name)
    db.migrate(url)
    yield url
    with psycopg.connect(server_url, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    if not _EXTERNAL_DATABASE_URL:  # the embedded server outlives its starter otherwise
        from flows.stack import stop_embedded_postgres

        stop_embedded_postgres(pgdata)


@pytest.fixture
def clean_db(database_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """The session database, emptied, and named by DATABASE_URL for code that reads settings."""
    empty_database(database_url)
    monkeypatch.setenv("DATABASE_URL", database_url)
    return database_url


@pytest.fixture
def settings(clean_db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """Settings for one test: the clean database, an outbox of its own, no SMTP."""
    monkeypatch.setenv("NEWSWATCH_DATA_DIR", str(tmp_path / "data"))
    for name in ("NEWSWATCH_SMTP_HOST", "NEWSWATCH_SMTP_PORT", "NEWSWATCH_SMTP_SECURITY"):
        monkeypatch.delenv(name, raising=False)
    return Settings()


@pytest.fixture(scope="session")
def test_site() -> Iterator[TestSite]:
    with TestSite() as site:
        yield site


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class SmtpSink:
    """A real SMTP server (aiosmtpd) that keeps what it receives; can be told to refuse."""

    def __init__(self) -> None:
        from aiosmtpd.controller import Controller

        self.messages: list[tuple[str, list[str], bytes]] = []
        self.refuse = False
        self.port = free_port()
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)

    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
        if self.refuse:
            return "451 4.3.0 try again later"
        self.messages.append(
            (envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content)  # type: ignore[attr-defined]
        )
        return "250 OK"


@pytest.fixture
def smtp_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[SmtpSink]:
    sink = SmtpSink()
    sink.controller.start()
    monkeypatch.setenv("NEWSWATCH_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("NEWSWATCH_SMTP_PORT", str(sink.port))
    monkeypatch.setenv("NEWSWATCH_SMTP_SECURITY", "none")
    yield sink
    sink.controller.stop()


@pytest.fixture(scope="session")
def prefect_api() -> Iterator[None]:
    """A real, temporary Prefect API for the whole session (it takes a while to start)."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=240):
        yield
