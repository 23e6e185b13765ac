"""The e-mail outbox: deliveries are grouped into messages per recipient, then sent.

Queueing: pending deliveries of instant watches become one e-mail per recipient per run; those of
digest watches become at most one e-mail per recipient a day (unique index on recipient and
day), once the hour of their watch has come, gathering everything pending. The message is
rendered and stored with its Message-ID in the same commit that attaches the deliveries, so a
delivery is in exactly one e-mail and a story reaches a recipient in exactly one Message-ID
(deliveries are unique per recipient and story).

Queueing is per recipient: one recipient whose e-mail cannot be made (a bad address, a page
value that breaks rendering) is logged and left pending; everyone else's mail goes.

Sending (flows.notify.sending): under a row lock (concurrent senders skip it), each e-mail
marked sent in its own commit. SMTP down: the e-mail stays unsent and is retried next run. A crash after the server accepted the
message but before the commit resends the stored bytes once on the next run, with the same
Message-ID: SMTP has no idempotent submission, so the server sees it twice and the recipient's
mail system collapses it by Message-ID. The .eml transport overwrites the same file, exactly once.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.utils import make_msgid
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flows.notify import sending
from flows.notify.links import LinkMaker, sender_domain
from flows.notify.mailer import Transport, message_bytes
from flows.notify.render import HIGHLIGHT_START, HIGHLIGHT_STOP, AlertItem, render_email
from flows.store.db import Connection

log = logging.getLogger(__name__)
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


@dataclass
class QueueResult:
    instant: int = 0
    digest: int = 0
    errors: list[str] = field(default_factory=list)

    @property
    def emails(self) -> int:
        return self.instant + self.digest


# A recipient's own choices (flows/notify/recipients.py) override each watch's mode, hour and
# time zone; a paused recipient's deliveries wait, like a muted watch's.
_PENDING = """
SELECT d.id, d.recipient, coalesce(rp.mode, w.mode) AS mode,
       coalesce(rp.digest_hour, w.digest_hour) AS digest_hour,
       coalesce(rp.time_zone, w.time_zone) AS time_zone
FROM deliveries d
JOIN alerts al ON al.id = d.alert_id
JOIN watches w ON w.id = al.watch_id
LEFT JOIN recipients rp ON rp.email = d.recipient
WHERE d.email_id IS NULL AND NOT w.muted AND NOT coalesce(rp.paused, false)
ORDER BY d.id
FOR UPDATE OF d SKIP LOCKED
"""


def _digest_due(moment: datetime, hour: int, time_zone: str) -> date | None:
    """The recipient's local day if their digest hour has come there, else None."""
    try:
        zone = ZoneInfo(time_zone)
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")  # checked when saved; a zone dropped from tzdata falls back
    local = moment.astimezone(zone)
    return local.date() if local.hour >= hour else None


def queue_emails(
    connection: Connection,
    run_id: int | None,
    sender: str,
    now: datetime | None = None,
    links: LinkMaker | None = None,
) -> QueueResult:
    """Attach pending deliveries to new e-mails: instant ones now, digests when due at `now`
    in the recipient's time zone (at most one digest per recipient and local day)."""
    moment = now or datetime.now(UTC)
    result = QueueResult()
    with connection.transaction():
        instant: dict[str, list[int]] = {}
        digest: dict[str, list[int]] = {}
        due_day: dict[str, date] = {}
        for row in connection.execute(_PENDING).fetchall():
            if row["mode"] == "digest":
                digest.setdefault(row["recipient"], []).append(row["id"])
                day = _digest_due(moment, int(row["digest_hour"]), str(row["time_zone"]))
                if day is not None and row["recipient"] not in due_day:
                    due_day[row["recipient"]] = day
            else:
                instant.setdefault(row["recipient"], []).append(row["id"])
        for recipient, delivery_ids in sorted(instant.items()):
            if _queue_one(
                connection, run_id, sender, moment, recipient, delivery_ids, None, result, links
            ):
                result.instant += 1
        for recipient, delivery_ids in sorted(digest.items()):
            if recipient not in due_day:
                continue
            day = due_day[recipient]
            if _queue_one(
                connection, run_id, sender, moment, recipient, delivery_ids, day, result, links
            ):
                result.digest += 1
    return result


def _queue_one(
    connection: Connection,
    run_id: int | None,
    sender: str,
    moment: datetime,
    recipient: str,
    delivery_ids: list[int],
    digest_day: date | None,
    result: QueueResult,
    links: LinkMaker | None = None,
) -> bool:
    """One recipient's e-mail in a savepoint of its own: its failure is that recipient's only."""
    try:
        with connection.transaction():
            return _create_email(
                connection, run_id, sender, moment, recipient, delivery_ids, digest_day, links
            )
    except (ValueError, TypeError, UnicodeError) as exc:
        reason = f"{recipient}: cannot make the e-mail: {type(exc).__name__}: {exc}"
        log.warning("%s", reason)
        result.errors.append(reason)
        return False


def _create_email(
    connection: Connection,
    run_id: int | None,
    sender: str,
    moment: datetime,
    recipient: str,
    delivery_ids: list[int],
    digest_day: date | None,
    links: LinkMaker | None = None,
) -> bool:
    """One e-mail row with its rendered message; False if today's digest exists already."""
    message_id = make_msgid(domain=sender_domain(sender))
    email = connection.execute(
        """INSERT INTO emails (recipient, message_id, run_id, created_at, kind, digest_day)
           VALUES (%s, %s, %s, %s, %s, %s)
           ON CONFLICT DO NOTHING RETURNING id""",
        (
            recipient,
            message_id,
            run_id,
            moment,
            "digest" if digest_day else "instant",
            digest_day,
        ),
    ).fetchone()
    if email is None:
        return False  # at most one digest a day: the rest waits for tomorrow's
    connection.execute(
        "UPDATE deliveries SET email_id = %s WHERE id = ANY(%s)", (email["id"], delivery_ids)
    )
    message = render_email(
        recipient,
        sender,
        message_id,
        moment,
        email_items(connection, email["id"]),
        bool(digest_day),
        links.for_email(connection, recipient, int(email["id"])) if links else None,
    )
    connection.execute(
        "UPDATE emails SET content = %s WHERE id = %s", (message_bytes(message), email["id"])
    )
    return True


def deliver_pending(
    connection: Connection,
    transport: Transport,
    sender: str,
    run_id: int | None = None,
    max_attempts: int = sending.DEFAULT_MAX_ATTEMPTS,
) -> DeliveryResult:
    """Send every unsent e-mail (this run's and any left by earlier runs) once; each is marked
    sent in its own commit (see flows.notify.sending)."""

    def compose(conn: Connection, email: dict[str, Any]) -> tuple[EmailMessage, list[str]]:
        return _stored_message(conn, email, sender), [str(email["recipient"])]

    outcome = sending.send_pending(
        connection,
        "emails",
        "recipient, message_id, created_at, kind, content",
        compose,
        transport,
        run_id=run_id,
        max_attempts=max_attempts,
    )
    result = DeliveryResult(
        sent=len(outcome.sent),
        failed=len(outcome.failed),
        locations=[location for _, location in outcome.sent],
        errors=[f"{row['recipient']}: {reason}" for row, reason in outcome.failed],
    )
    if outcome.stopped:
        result.errors.append(f"sending stopped: {outcome.stopped}")
    return result


def sent_by_run(connection: Connection, run_id: int) -> int:
    """E-mails this run sent, whichever attempt of its task sent them."""
    row = connection.execute(
        "SELECT count(*) AS n FROM emails WHERE sent_run_id = %s", (run_id,)
    ).fetchone()
    return int(row["n"]) if row else 0


def _stored_message(connection: Connection, email: dict[str, object], sender: str) -> EmailMessage:
    """The message as queued; e-mails queued before messages were stored are rendered once now."""
    content = email["content"]
    if content is None:
        message = render_email(
            str(email["recipient"]),
            sender,
            str(email["message_id"]),
            email["created_at"],  # type: ignore[arg-type]
            email_items(connection, int(email["id"])),  # type: ignore[call-overload]
            email["kind"] == "digest",
        )
        connection.execute(
            "UPDATE emails SET content = %s WHERE id = %s", (message_bytes(message), email["id"])
        )
        return message
    parsed = message_from_bytes(bytes(content), policy=policy.default)  # type: ignore[call-overload]
    assert isinstance(parsed, EmailMessage)
    return parsed


def email_items(connection: Connection, email_id: int) -> list[AlertItem]:
    """What an e-mail says: each story once, from its first matching copy, with its carriers."""
    rows = connection.execute(
        f"""SELECT w.name AS watch_name, w.query AS watch_query, ar.title, ar.publisher,
                   ar.published_at, ar.url, ar.canonical_url, ar.source, ar.original_url,
                   al.story_id,
                   ts_headline(ar.ts_config, ar.body, websearch_to_tsquery(ar.ts_config, w.query),
                               '{_HEADLINE_OPTIONS}') AS snippet,
                   coalesce((SELECT array_agg(DISTINCT coalesce(o.publisher, o.source))
                             FROM articles o
                             WHERE o.story_id = al.story_id AND o.id <> ar.id
                               AND coalesce(o.publisher, o.source)
                                   IS DISTINCT FROM coalesce(ar.publisher, ar.source)),
                            '{{}}') AS carriers
            FROM deliveries d
            JOIN alerts al ON al.id = d.alert_id
            JOIN watches w ON w.id = al.watch_id
            JOIN articles ar ON ar.id = al.article_id
            WHERE d.email_id = %s
            ORDER BY w.name, ar.published_at DESC NULLS LAST, ar.id""",
        (email_id,),
    ).fetchall()
    items = []
    for row in rows:
        carriers = tuple(row.pop("carriers"))
        items.append(AlertItem(**row, also_carried_by=carriers))
    return items
