"""Watches: a named query and who to tell. Checked on the way in, so a bad one never runs."""

from __future__ import annotations

from dataclasses import dataclass

from flows.db import Connection
from flows.query import InvalidQuery, validate_email, validate_query


class WatchError(ValueError):
    """A watch operation the user asked for that cannot be done (unknown name, duplicate)."""


@dataclass(frozen=True)
class Watch:
    id: int
    name: str
    query: str
    email: str
    muted: bool


def add_watch(connection: Connection, name: str, query: str, email: str) -> Watch:
    name = name.strip()
    if not name:
        raise WatchError("a watch needs a name")
    query = validate_query(query)
    email = validate_email(email)
    # websearch_to_tsquery keeps nothing of a query made only of stop words ("the OR a").
    row = connection.execute(
        "SELECT numnode(websearch_to_tsquery('english', %s)) AS en,"
        " numnode(websearch_to_tsquery('simple', %s)) AS plain",
        (query, query),
    ).fetchone()
    assert row is not None
    if not row["en"] and not row["plain"]:
        raise InvalidQuery("the query has no searchable words")
    inserted = connection.execute(
        """INSERT INTO watches (name, query, email) VALUES (%s, %s, %s)
           ON CONFLICT (name) DO NOTHING RETURNING id, name, query, email, muted""",
        (name, query, email),
    ).fetchone()
    if inserted is None:
        raise WatchError(f"a watch named {name!r} already exists")
    return Watch(**inserted)


def list_watches(connection: Connection) -> list[Watch]:
    rows = connection.execute(
        "SELECT id, name, query, email, muted FROM watches ORDER BY name"
    ).fetchall()
    return [Watch(**row) for row in rows]


def remove_watch(connection: Connection, name: str) -> None:
    deleted = connection.execute("DELETE FROM watches WHERE name = %s RETURNING id", (name,))
    if deleted.fetchone() is None:
        raise WatchError(f"no watch named {name!r}")
