"""Shared fixtures: real Postgres (embedded, or DATABASE_URL), the test site, SMTP, Prefect."""

from __future__ import annotations

import os
import secrets
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest

# Everything a test run writes lives in one temporary data directory, set before any import
# of flows.config.settings or prefect reads the environment.
_SESSION_DIR = Path(tempfile.mkdtemp(prefix="newswatch-tests-"))
_GROUPS = ("unit", "integration", "e2e")
os.environ["NEWSWATCH_DATA_DIR"] = str(_SESSION_DIR / "data")
_EXTERNAL_DATABASE_URL = os.environ.pop("DATABASE_URL", None)

from flows.config.settings import Settings  # noqa: E402
from flows.orchestration.prefect_env import configure_prefect_environment  # noqa: E402

configure_prefect_environment(Settings())

from flows.store import db  # noqa: E402
from flows.testsite import TestSite  # noqa: E402
from tests.support.crawl_helpers import empty_database  # noqa: E402
from tests.support.smtp import SmtpSink  # noqa: E402


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
        from flows.stack.local import stop_embedded_postgres

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


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Each test is marked by its folder: unit (no services), integration (Postgres, HTTP,
    SMTP, the shared corpus), e2e (Prefect and the stack); a test may name its group itself.
    `pytest -m unit` runs in seconds."""
    for item in items:
        group = next((part for part in item.path.parts if part in _GROUPS), None)
        if group is not None and not any(item.get_closest_marker(name) for name in _GROUPS):
            item.add_marker(getattr(pytest.mark, group))


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    """tmp_path folders live in the session's directory too, so nothing outlives the run."""
    if config.option.basetemp is None:
        config.option.basetemp = str(_SESSION_DIR / "pytest")


def pytest_unconfigure(config: pytest.Config) -> None:
    """The session's data directory (embedded Postgres data included) goes with the session."""
    shutil.rmtree(_SESSION_DIR, ignore_errors=True)
