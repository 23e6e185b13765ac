"""Watches: a named query, its stemming language, who to tell and how often.

Everything is checked on the way in (query syntax, addresses, language, hour), so a bad watch is
refused with a message saying what is wrong, and never runs.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from flows.match.index import forget_watch
from flows.match.query import check_with_postgres, validate_email, validate_query
from flows.store.articles import TS_CONFIGS
from flows.store.db import Connection

MODES = ("instant", "digest")
DEFAULT_DIGEST_HOUR = 7


class WatchError(ValueError):
    """A watch operation the user asked for that cannot be done (unknown name, duplicate)."""


@dataclass(frozen=True)
class Watch:
    id: int
    name: str
    query: str
    recipients: tuple[str, ...]
    language: str | None
    mode: str
    digest_hour: int
    muted: bool

    @property
    def email(self) -> str:
        """The first recipient (watches made before several recipients were allowed had one)."""
        return self.recipients[0]


def _language(connection: Connection, language: str | None) -> tuple[str | None, str | None]:
    """(language code, ts_config) for a watch; None/"any" means each article's own language."""
    if language is None or language.strip().lower() in ("", "any"):
        return None, None
    code = language.strip().lower()
    if code == "simple":
        return code, "simple"
    if code not in TS_CONFIGS:
        known = ", ".join(sorted(TS_CONFIGS))
        raise WatchError(f"unknown language {language!r}: use one of {known}, simple or any")
    config = TS_CONFIGS[code]
    if connection.execute("SELECT 1 FROM pg_ts_config WHERE cfgname = %s", (config,)).fetchone():
        return code, config
    raise WatchError(
        f"this Postgres server has no {config!r} text search: upgrade it, or use simple"
    )


def _recipients(emails: str | Iterable[str]) -> list[str]:
    given = [emails] if isinstance(emails, str) else list(emails)
    checked: list[str] = []
    for address in given:
        valid = validate_email(address)
        if valid not in checked:
            checked.append(valid)
    if not checked:
        raise WatchError("a watch needs at least one recipient (--email ADDR)")
    return checked


def _mode(mode: str, digest_hour: int) -> None:
    if mode not in MODES:
        raise WatchError(f"unknown delivery mode {mode!r}: use instant or digest")
    if not 0 <= digest_hour <= 23:
        raise WatchError(f"digest hour must be 0-23 (UTC), got {digest_hour}")


def add_watch(
    connection: Connection,
    name: str,
    query: str,
    emails: str | Sequence[str],
    *,
    language: str | None = None,
    mode: str = "instant",
    digest_hour: int = DEFAULT_DIGEST_HOUR,
) -> Watch:
    name = name.strip()
    if not name:
        raise WatchError("a watch needs a name")
    query = validate_query(query)
    recipients = _recipients(emails)
    code, ts_config = _language(connection, language)
    _mode(mode, digest_hour)
    check_with_postgres(connection, query, ts_config)
    with connection.transaction():
        inserted = connection.execute(
            """INSERT INTO watches (name, query, language, ts_config, mode, digest_hour)
               VALUES (%s, %s, %s, %s::regconfig, %s, %s)
               ON CONFLICT (name) DO NOTHING RETURNING id""",
            (name, query, code, ts_config, mode, digest_hour),
        ).fetchone()
        if inserted is None:
            raise WatchError(f"a watch named {name!r} already exists")
        _set_recipients(connection, int(inserted["id"]), recipients)
    return get_watch(connection, name)


def edit_watch(
    connection: Connection,
    name: str,
    *,
    query: str | None = None,
    emails: Sequence[str] | None = None,
    language: str | None = None,
    mode: str | None = None,
    digest_hour: int | None = None,
) -> Watch:
    """Change what is given; `language="any"` clears the language. Recipients are replaced."""
    current = get_watch(connection, name)
    new_query = validate_query(query) if query is not None else current.query
    code, ts_config = _language(connection, language if language is not None else current.language)
    new_mode = mode or current.mode
    new_hour = digest_hour if digest_hour is not None else current.digest_hour
    _mode(new_mode, new_hour)
    recipients = _recipients(emails) if emails is not None else None
    check_with_postgres(connection, new_query, ts_config)
    with connection.transaction():
        connection.execute(
            """UPDATE watches SET query = %s, language = %s, ts_config = %s::regconfig,
                   mode = %s, digest_hour = %s, updated_at = now() WHERE id = %s""",
            (new_query, code, ts_config, new_mode, new_hour, current.id),
        )
        if new_query != current.query or code != current.language:
            forget_watch(connection, current.id)
        if recipients is not None:
            connection.execute("DELETE FROM watch_recipients WHERE watch_id = %s", (current.id,))
            _set_recipients(connection, current.id, recipients)
    return get_watch(connection, name)


def set_muted(connection: Connection, name: str, muted: bool) -> Watch:
    """A muted watch matches nothing and sends nothing; alerts already queued wait for unmute."""
    updated = connection.execute(
        "UPDATE watches SET muted = %s, updated_at = now() WHERE name = %s RETURNING id",
        (muted, name),
    ).fetchone()
    if updated is None:
        raise WatchError(f"no watch named {name!r}")
    return get_watch(connection, name)


def _set_recipients(connection: Connection, watch_id: int, recipients: list[str]) -> None:
    connection.execute(
        "INSERT INTO watch_recipients (watch_id, email) SELECT %s, unnest(%s::text[])",
        (watch_id, recipients),
    )


_SELECT = """
SELECT w.id, w.name, w.query, w.language, w.mode, w.digest_hour, w.muted,
       coalesce(array_agg(r.email ORDER BY r.email) FILTER (WHERE r.email IS NOT NULL), '{}')
           AS recipients
FROM watches w LEFT JOIN watch_recipients r ON r.watch_id = w.id
"""


def _watch(row: dict[str, object]) -> Watch:
    return Watch(
        id=int(row["id"]),  # type: ignore[call-overload]
        name=str(row["name"]),
        query=str(row["query"]),
        recipients=tuple(row["recipients"]),  # type: ignore[arg-type]
        language=row["language"],  # type: ignore[arg-type]
        mode=str(row["mode"]),
        digest_hour=int(row["digest_hour"]),  # type: ignore[call-overload]
        muted=bool(row["muted"]),
    )


def get_watch(connection: Connection, name: str) -> Watch:
    row = connection.execute(_SELECT + " WHERE w.name = %s GROUP BY w.id", (name,)).fetchone()
    if row is None:
        raise WatchError(f"no watch named {name!r}")
    return _watch(row)


def list_watches(connection: Connection) -> list[Watch]:
    rows = connection.execute(_SELECT + " GROUP BY w.id ORDER BY w.name").fetchall()
    return [_watch(row) for row in rows]


def remove_watch(connection: Connection, name: str) -> None:
    """Remove a watch, its alerts and what is not sent yet; sent deliveries stay as history."""
    with connection.transaction():
        deleted = connection.execute(
            "DELETE FROM watches WHERE name = %s RETURNING id", (name,)
        ).fetchone()
        if deleted is None:
            raise WatchError(f"no watch named {name!r}")
        connection.execute(
            """DELETE FROM deliveries d USING alerts al
               WHERE al.id = d.alert_id AND al.watch_id = %s AND d.email_id IS NULL""",
            (deleted["id"],),
        )
        connection.execute("DELETE FROM alerts WHERE watch_id = %s", (deleted["id"],))
