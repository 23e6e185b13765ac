"""Editors' accounts: argon2 password hashes, and login throttling kept in Postgres.

Failures are counted per user name and per client address over a sliding window, in the
database so that every web process sees the same count; while over the limit, logins are refused
without checking the password (so guessing gets no answer at all).
"""

from __future__ import annotations

from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from flows.match.query import validate_email
from flows.store.db import Connection

_HASHER = PasswordHasher()
# Checked against when the name is unknown, so an unknown name takes as long as a wrong password.
_UNKNOWN_USER_HASH = _HASHER.hash("no such editor")
MIN_PASSWORD_CHARS = 10
FAILURE_WINDOW_MINUTES = 15
MAX_FAILURES_PER_USER = 5
MAX_FAILURES_PER_CLIENT = 20


class AccountError(ValueError):
    """An account operation that cannot be done (name taken, weak password)."""


@dataclass(frozen=True)
class Editor:
    id: int
    name: str
    email: str


def add_editor(connection: Connection, name: str, email: str, password: str) -> Editor:
    name = name.strip()
    if not name or len(name) > 100:
        raise AccountError("an editor needs a name of 1-100 characters")
    if len(password) < MIN_PASSWORD_CHARS:
        raise AccountError(f"the password needs at least {MIN_PASSWORD_CHARS} characters")
    row = connection.execute(
        """INSERT INTO editors (name, email, password_hash) VALUES (%s, %s, %s)
           ON CONFLICT (name) DO NOTHING RETURNING id, name, email""",
        (name, validate_email(email), _HASHER.hash(password)),
    ).fetchone()
    if row is None:
        raise AccountError(f"an editor named {name!r} already exists")
    return Editor(**row)


def set_password(connection: Connection, name: str, password: str) -> None:
    if len(password) < MIN_PASSWORD_CHARS:
        raise AccountError(f"the password needs at least {MIN_PASSWORD_CHARS} characters")
    updated = connection.execute(
        "UPDATE editors SET password_hash = %s WHERE name = %s RETURNING id",
        (_HASHER.hash(password), name),
    ).fetchone()
    if updated is None:
        raise AccountError(f"no editor named {name!r}")


def get_editor(connection: Connection, editor_id: int) -> Editor | None:
    row = connection.execute(
        "SELECT id, name, email FROM editors WHERE id = %s", (editor_id,)
    ).fetchone()
    return Editor(**row) if row else None


def throttled(connection: Connection, name: str, client: str) -> bool:
    row = connection.execute(
        """SELECT count(*) FILTER (WHERE username = %(name)s) AS by_user,
                  count(*) FILTER (WHERE client = %(client)s) AS by_client
           FROM login_failures
           WHERE failed_at > now() - make_interval(mins => %(window)s)
             AND (username = %(name)s OR client = %(client)s)""",
        {"name": name, "client": client, "window": FAILURE_WINDOW_MINUTES},
    ).fetchone()
    assert row is not None
    return bool(
        row["by_user"] >= MAX_FAILURES_PER_USER or row["by_client"] >= MAX_FAILURES_PER_CLIENT
    )


def authenticate(connection: Connection, name: str, password: str, client: str) -> Editor | None:
    """The editor when name and password match; a failure is counted either way it fails."""
    row = connection.execute(
        "SELECT id, name, email, password_hash FROM editors WHERE name = %s", (name,)
    ).fetchone()
    try:
        _HASHER.verify(row["password_hash"] if row else _UNKNOWN_USER_HASH, password)
        if row is None:
            raise VerifyMismatchError
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        connection.execute(
            "INSERT INTO login_failures (username, client) VALUES (%s, %s)",
            (name[:200], client[:200]),
        )
        return None
    if _HASHER.check_needs_rehash(row["password_hash"]):
        connection.execute(
            "UPDATE editors SET password_hash = %s WHERE id = %s",
            (_HASHER.hash(password), row["id"]),
        )
    connection.execute("UPDATE editors SET last_login_at = now() WHERE id = %s", (row["id"],))
    connection.execute("DELETE FROM login_failures WHERE username = %s", (name,))
    return Editor(id=row["id"], name=row["name"], email=row["email"])
