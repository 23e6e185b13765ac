"""The e-mail outbox: alerts are grouped into one message per recipient, then delivered.

Guarantee: at-least-once delivery with a stable Message-ID. An e-mail row is created (with its
Message-ID) and its alerts attached in one commit; sending happens under a row lock and is
marked in the same transaction. A crash after the server accepted the message but before the
commit resends it once on the next run, with the same Message-ID (mail clients collapse it);
the .eml transport overwrites the same file, so there it is exactly once.
"""

from __future__ import annotations

import smtplib
import uuid
from dataclasses import dataclass, field

from flows.db import Connection
from flows.mailer import Transport
from flows.render import HIGHLIGHT_START, HIGHLIGHT_STOP, AlertItem, render_email

_HEADLINE_OPTIONS = (
    f"StartSel={HIGHLIGHT_START}, StopSel={HIGHLIGHT_STOP}, "
    'MaxWords=40, MinWords=15, MaxFragments=2, FragmentDelimiter=" … "'
)


@dataclass
class DeliveryResult:
    sent: int = 0
    failed: int = 0
    locations: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def queue_emails(connection: Connection, run_id: int) -> int:
    """Attach every unassigned alert of an active watch to a new e-mail for its recipient."""
    created = 0
    with connection.transaction():
        rows = connection.execute(
            """SELECT a.id, w.email FROM alerts a JOIN watches w ON w.id = a.watch_id
               WHERE a.email_id IS NULL AND NOT w.muted
               ORDER BY a.id FOR UPDATE OF a SKIP LOCKED"""
        ).fetchall()
        by_recipient: dict[str, list[int]] = {}
        for row in rows:
            by_recipient.setdefault(row["email"], []).append(row["id"])
        for recipient, alert_ids in sorted(by_recipient.items()):
            message_id = f"<{uuid.uuid4().hex}@newswatch>"
            email = connection.execute(
                "INSERT INTO emails (recipient, message_id, run_id) VALUES (%s, %s, %s) RETURNING id",
                (recipient, message_id, run_id),
            ).fetchone()
            assert email is not None
            connection.execute(
                "UPDATE alerts SET email_id = %s WHERE id = ANY(%s)",
                (email["id"], alert_ids),
            )
            created += 1
    return created


def deliver_pending(connection: Connection, transport: Transport, sender: str) -> DeliveryResult:
    """Send every unsent e-mail (this run's and any left by earlier runs) once."""
    result = DeliveryResult()
    pending = [
        row["id"]
        for row in connection.execute("SELECT id FROM emails WHERE sent_at IS NULL ORDER BY id")
    ]
    for email_id in pending:
        with connection.transaction():
            email = connection.execute(
                """SELECT id, recipient, message_id, created_at FROM emails
                   WHERE id = %s AND sent_at IS NULL FOR UPDATE SKIP LOCKED""",
                (email_id,),
            ).fetchone()
            if email is None:
                continue  # sent meanwhile, or being sent by a concurrent run
            message = render_email(
                email["recipient"],
                sender,
                email["message_id"],
                email["created_at"],
                _items(connection, email_id),
            )
            try:
                location = transport.send(message)
            except (OSError, smtplib.SMTPException) as exc:
                connection.execute(
                    "UPDATE emails SET attempts = attempts + 1, last_error = %s WHERE id = %s",
                    (f"{type(exc).__name__}: {exc}", email_id),
                )
                result.failed += 1
                result.errors.append(f"{email['recipient']}: {type(exc).__name__}: {exc}")
                continue
            connection.execute(
                """UPDATE emails SET sent_at = now(), delivered_via = %s,
                       attempts = attempts + 1, last_error = NULL WHERE id = %s""",
                (location, email_id),
            )
        result.sent += 1
        result.locations.append(location)
    return result


def _items(connection: Connection, email_id: int) -> list[AlertItem]:
    rows = connection.execute(
        f"""SELECT w.name AS watch_name, w.query AS watch_query, ar.title, ar.publisher,
                   ar.published_at, ar.url, ar.canonical_url,
                   ts_headline(ar.ts_config, ar.body, websearch_to_tsquery(ar.ts_config, w.query),
                               '{_HEADLINE_OPTIONS}') AS snippet
            FROM alerts al
            JOIN watches w ON w.id = al.watch_id
            JOIN articles ar ON ar.id = al.article_id
            WHERE al.email_id = %s
            ORDER BY w.name, ar.published_at DESC NULLS LAST, ar.id""",
        (email_id,),
    ).fetchall()
    return [AlertItem(**row) for row in rows]
