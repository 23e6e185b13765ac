"""Recipients' own choices, made from their "your alerts" page: no account, one address each.

A recipient may leave a watch (for themselves: the watch and its other recipients are
untouched), pause everything, choose instant or digest delivery and the digest hour in their
own time zone. What they leave is gone from their pending deliveries at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from flows.match.watches import MODES, Watch, WatchError, list_watches
from flows.store.db import Connection


@dataclass(frozen=True)
class Preferences:
    email: str
    paused: bool = False
    mode: str | None = None  # None: each watch's own
    digest_hour: int | None = None
    time_zone: str | None = None
    token_generation: int = 1


@lru_cache(maxsize=1)
def time_zones() -> tuple[str, ...]:
    return tuple(sorted(available_timezones()))


def check_time_zone(name: str) -> str:
    name = name.strip()
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise WatchError(
            f"unknown time zone {name!r} (expected e.g. Europe/Berlin or UTC)"
        ) from None
    return name


def preferences(connection: Connection, email: str) -> Preferences:
    row = connection.execute(
        """SELECT email, paused, mode, digest_hour, time_zone, token_generation
           FROM recipients WHERE email = %s""",
        (email,),
    ).fetchone()
    return Preferences(**row) if row else Preferences(email=email)


def set_preferences(
    connection: Connection,
    email: str,
    *,
    paused: bool,
    mode: str | None,
    digest_hour: int | None,
    time_zone: str | None,
) -> Preferences:
    if mode is not None and mode not in MODES:
        raise WatchError(f"unknown delivery mode {mode!r}: use instant or digest")
    if digest_hour is not None and not 0 <= digest_hour <= 23:
        raise WatchError(f"digest hour must be 0-23, got {digest_hour}")
    zone = check_time_zone(time_zone) if time_zone else None
    connection.execute(
        """INSERT INTO recipients (email, paused, mode, digest_hour, time_zone)
           VALUES (%s, %s, %s, %s, %s)
           ON CONFLICT (email) DO UPDATE SET paused = excluded.paused, mode = excluded.mode,
               digest_hour = excluded.digest_hour, time_zone = excluded.time_zone,
               updated_at = now()""",
        (email, paused, mode, digest_hour, zone),
    )
    return preferences(connection, email)


def rotate_links(connection: Connection, email: str) -> int:
    """Refuse every link sent to this address so far; the new generation signs the next ones."""
    row = connection.execute(
        """INSERT INTO recipients (email, token_generation) VALUES (%s, 2)
           ON CONFLICT (email) DO UPDATE SET token_generation = recipients.token_generation + 1,
               updated_at = now()
           RETURNING token_generation""",
        (email,),
    ).fetchone()
    assert row is not None
    return int(row["token_generation"])


def watches_of(connection: Connection, email: str) -> list[Watch]:
    return [watch for watch in list_watches(connection) if email in watch.recipients]


def leave_watch(connection: Connection, email: str, watch_id: int) -> bool:
    """Take this address off one watch; False when it was not on it."""
    with connection.transaction():
        left = connection.execute(
            "DELETE FROM watch_recipients WHERE watch_id = %s AND email = %s RETURNING watch_id",
            (watch_id, email),
        ).fetchone()
        if left is None:
            return False
        dropped = connection.execute(
            """DELETE FROM deliveries d USING alerts al
               WHERE al.id = d.alert_id AND al.watch_id = %s AND d.recipient = %s
                 AND d.email_id IS NULL
               RETURNING d.story_id""",
            (watch_id, email),
        ).fetchall()
        if dropped:
            # A story another of their watches also matched stays theirs, through that watch.
            connection.execute(
                """INSERT INTO deliveries (recipient, story_id, alert_id)
                   SELECT DISTINCT ON (al.story_id) r.email, al.story_id, al.id
                   FROM alerts al JOIN watch_recipients r ON r.watch_id = al.watch_id
                   WHERE r.email = %s AND al.story_id = ANY(%s)
                   ORDER BY al.story_id, al.id
                   ON CONFLICT (recipient, story_id) DO NOTHING""",
                (email, [row["story_id"] for row in dropped]),
            )
    return True


def watches_of_email(connection: Connection, email: str, email_id: int) -> list[Watch]:
    """The watches whose stories one e-mail to this address carried."""
    rows = connection.execute(
        """SELECT DISTINCT al.watch_id FROM deliveries d JOIN alerts al ON al.id = d.alert_id
           WHERE d.email_id = %s AND d.recipient = %s""",
        (email_id, email),
    ).fetchall()
    carried = {int(row["watch_id"]) for row in rows}
    return [watch for watch in watches_of(connection, email) if watch.id in carried]


def unsubscribe_from_email(connection: Connection, email: str, email_id: int) -> list[str]:
    """RFC 8058 one-click: leave every watch of that e-mail; the names of the watches left."""
    left = []
    for watch in watches_of_email(connection, email, email_id):
        if leave_watch(connection, email, watch.id):
            left.append(watch.name)
    return left


def use_nonce(connection: Connection, nonce: str, email: str) -> bool:
    """True the first time a single-use link's nonce is used, False on every replay."""
    row = connection.execute(
        """INSERT INTO used_link_nonces (nonce, email) VALUES (%s, %s)
           ON CONFLICT DO NOTHING RETURNING nonce""",
        (nonce, email),
    ).fetchone()
    return row is not None
