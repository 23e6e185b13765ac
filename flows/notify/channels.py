"""Chat and webhook delivery (Slack, Teams, Matrix, ntfy, JSON webhooks) through Apprise.

A watch's channels are Apprise URLs. Each new alert of the watch becomes one channel delivery
per channel (unique per channel and story: a story reaches a channel once, like a recipient);
a delivery is sent under a row lock and marked sent in the same transaction; a failure is
counted and retried by the next run, up to MAX_ATTEMPTS. The URLs hold credentials: pages and
logs only ever show Apprise's privacy form of them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import apprise

from flows.store.db import Connection

MAX_ATTEMPTS = 8


class ChannelError(ValueError):
    """A channel URL Apprise cannot use."""


def _plugin(url: str) -> Any:
    plugin = apprise.Apprise.instantiate(url.strip())
    if not plugin:
        scheme = url.split("://", 1)[0][:20] if "://" in url else "?"
        raise ChannelError(
            f"not a chat or webhook address Apprise knows (scheme {scheme!r}); e.g. "
            "slack://…, msteams://…, matrixs://…, ntfys://…, json://host/path"
        )
    return plugin


def private_label(url: str) -> str:
    """Service and host only: Apprise's privacy form still shows a webhook's secret path."""
    parts = urlsplit(str(_plugin(url).url(privacy=True)))
    return f"{parts.scheme}://{parts.netloc}/…"


def set_channels(connection: Connection, watch_id: int, urls: list[str]) -> list[str]:
    """Replace the watch's channels (checked first: nothing changes if one is unusable)."""
    wanted = [url.strip() for url in urls if url.strip()]
    labels = [private_label(url) for url in wanted]
    connection.execute(
        "DELETE FROM watch_channels WHERE watch_id = %s AND NOT url = ANY(%s)", (watch_id, wanted)
    )
    for url, label in zip(wanted, labels, strict=True):
        connection.execute(
            """INSERT INTO watch_channels (watch_id, url, label) VALUES (%s, %s, %s)
               ON CONFLICT (watch_id, url) DO NOTHING""",
            (watch_id, url, label),
        )
    return labels


def labels(connection: Connection, watch_id: int) -> list[str]:
    rows = connection.execute(
        "SELECT label FROM watch_channels WHERE watch_id = %s ORDER BY id", (watch_id,)
    ).fetchall()
    return [str(row["label"]) for row in rows]


def queue_channel_deliveries(connection: Connection) -> int:
    """One delivery per (channel, story) for the alerts made since each channel was added."""
    row = connection.execute(
        """WITH added AS (
               INSERT INTO channel_deliveries (channel_id, story_id, alert_id)
               SELECT c.id, al.story_id, al.id
               FROM watch_channels c JOIN alerts al ON al.watch_id = c.watch_id
               JOIN watches w ON w.id = c.watch_id AND NOT w.muted
               WHERE al.created_at >= c.created_at
               ORDER BY al.id
               ON CONFLICT (channel_id, story_id) DO NOTHING
               RETURNING 1)
           SELECT count(*) AS added FROM added"""
    ).fetchone()
    return int(row["added"]) if row else 0


@dataclass
class ChannelResult:
    sent: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)


def _message(connection: Connection, delivery_id: int) -> tuple[str, str]:
    row = connection.execute(
        """SELECT w.name, ar.title, coalesce(ar.publisher, ar.source) AS outlet,
                  coalesce(ar.original_url, ar.canonical_url) AS link
           FROM channel_deliveries cd JOIN alerts al ON al.id = cd.alert_id
           JOIN watches w ON w.id = al.watch_id JOIN articles ar ON ar.id = al.article_id
           WHERE cd.id = %s""",
        (delivery_id,),
    ).fetchone()
    assert row is not None
    title = " ".join(f"newswatch: {row['name']}".split())[:200]
    body = " ".join(f"{row['title']} ({row['outlet']})".split()) + f"\n{row['link']}"
    return title, body


def deliver_channels(connection: Connection) -> ChannelResult:
    result = ChannelResult()
    pending = [
        row["id"]
        for row in connection.execute(
            """SELECT id FROM channel_deliveries WHERE sent_at IS NULL AND attempts < %s
               ORDER BY id""",
            (MAX_ATTEMPTS,),
        )
    ]
    for delivery_id in pending:
        with connection.transaction():
            row = connection.execute(
                """SELECT cd.id, c.url, c.label FROM channel_deliveries cd
                   JOIN watch_channels c ON c.id = cd.channel_id
                   WHERE cd.id = %s AND cd.sent_at IS NULL FOR UPDATE OF cd SKIP LOCKED""",
                (delivery_id,),
            ).fetchone()
            if row is None:
                continue
            title, body = _message(connection, delivery_id)
            target = apprise.Apprise()
            target.add(row["url"])
            if target.notify(body=body, title=title):
                connection.execute(
                    """UPDATE channel_deliveries SET sent_at = now(), attempts = attempts + 1,
                           last_error = NULL WHERE id = %s""",
                    (delivery_id,),
                )
                result.sent += 1
            else:
                connection.execute(
                    """UPDATE channel_deliveries SET attempts = attempts + 1,
                           last_error = 'the channel refused or could not be reached'
                       WHERE id = %s""",
                    (delivery_id,),
                )
                result.failed += 1
                result.errors.append(f"{row['label']}: not delivered, retried next run")
    return result
