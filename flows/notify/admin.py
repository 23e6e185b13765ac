"""E-mails to the admin: a run failed, or a source has stored nothing for N runs in a row.

Each notice has a key (the failed flow run, or the idle streak's first run); the key is unique
in `admin_notices`, so retries, hooks firing twice and concurrent workers send it once. The
Message-ID derives from the key too, so a resend after a crash collapses in mail clients and
overwrites the same .eml file.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate
from typing import Any

from flows.config.settings import Settings
from flows.notify import sending
from flows.notify.mailer import Transport, transport_for
from flows.store import runs as source_runs
from flows.store.db import Connection

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Notice:
    key: str
    kind: str
    subject: str
    body: str

    @property
    def message_id(self) -> str:
        digest = hashlib.sha256(self.key.encode("utf-8")).hexdigest()[:32]
        return f"<notice-{digest}@newswatch>"


def run_failed_notice(
    flow_run_id: str, flow_run_name: str, deployment: str | None, reason: str, link: str | None
) -> Notice:
    where = f"deployment {deployment}" if deployment else "a run started outside deployments"
    lines = [
        f"The newswatch flow run {flow_run_name!r} ({where}) failed after its retries.",
        "",
        f"Reason: {reason or 'no message'}",
        "",
        f"Logs and artifacts: {link}" if link else f"Flow run id: {flow_run_id}",
    ]
    return Notice(
        key=f"run-failed:{flow_run_id}",
        kind="run-failed",
        subject=f"[newswatch] run {flow_run_name} failed",
        body="\n".join(lines) + "\n",
    )


def idle_source_notice(streak: source_runs.IdleStreak) -> Notice:
    body = (
        f"The source {streak.source!r} has stored no new article in its last {streak.runs} runs.\n\n"
        "Its pages may have moved (check start_urls and article_url_patterns in the sources\n"
        "file), the site may block the crawler, or it may simply have published nothing.\n"
        "Per-source crawl statistics are in the run artifacts (crawl-stats) in the Prefect UI.\n"
        "You get this once per idle streak.\n"
    )
    return Notice(
        key=f"source-idle:{streak.source}:{streak.first_id}",
        kind="source-idle",
        subject=f"[newswatch] source {streak.source} stored nothing in {streak.runs} runs",
        body=body,
    )


def compose_message(notice: Notice, recipient: str, sender: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = recipient
    message["Subject"] = notice.subject
    message["Message-ID"] = notice.message_id
    message["Date"] = formatdate(localtime=False, usegmt=True)
    message["X-Newswatch-Notice"] = notice.kind
    message.set_content(notice.body)
    return message


def queue(connection: Connection, notice: Notice, recipient: str) -> bool:
    """Record the notice; False when the same key was recorded before (nothing new to send)."""
    row = connection.execute(
        """INSERT INTO admin_notices (notice_key, kind, recipient, subject, body, message_id)
           VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (notice_key) DO NOTHING RETURNING id""",
        (notice.key, notice.kind, recipient, notice.subject, notice.body, notice.message_id),
    ).fetchone()
    return row is not None


def deliver_pending(connection: Connection, transport: Transport, sender: str) -> list[str]:
    """Send every unsent notice once; each is marked sent in its own commit (flows.notify.sending)."""

    def compose(conn: Connection, row: dict[str, Any]) -> tuple[EmailMessage, list[str]]:
        notice = Notice(row["notice_key"], row["kind"], row["subject"], row["body"])
        return compose_message(notice, row["recipient"], sender), [str(row["recipient"])]

    outcome = sending.send_pending(
        connection,
        "admin_notices",
        "notice_key, kind, recipient, subject, body",
        compose,
        transport,
    )
    for row, reason in outcome.failed:
        log.warning("admin notice %s not sent: %s", row["notice_key"], reason)
    return [str(row["notice_key"]) for row, _ in outcome.sent]


def notify(connection: Connection, settings: Settings, notice: Notice) -> bool:
    """Queue and deliver one notice to the admin; False when no admin is set or it was known."""
    if not settings.admin_email:
        log.warning("no NEWSWATCH_ADMIN_EMAIL set; not sending: %s", notice.subject)
        return False
    with connection.transaction():
        new = queue(connection, notice, settings.admin_email)
    deliver_pending(connection, transport_for(settings), settings.mail_from)
    return new


def retry_kept(connection: Connection, settings: Settings) -> list[str]:
    """Send the notices a refusing mail server (or a run killed mid-send) left unsent; every
    monitor run calls this, so a notice waits at most one run, not until the next notice."""
    return deliver_pending(connection, transport_for(settings), settings.mail_from)


def check_idle_sources(connection: Connection, settings: Settings, sources: list[str]) -> list[str]:
    """Notify about each source idle for `idle_source_runs` runs; return the sources notified."""
    threshold = settings.idle_source_runs
    if threshold <= 0:
        return []
    notified = []
    for source in sources:
        streak = source_runs.idle_streak(connection, source, threshold)
        if streak is None or streak.runs < threshold:
            continue
        if notify(connection, settings, idle_source_notice(streak)):
            notified.append(source)
    return notified


def send_without_database(settings: Settings, notice: Notice) -> str | None:
    """Last resort when the database itself is down: send directly, without the dedup record."""
    if not settings.admin_email:
        log.warning("no NEWSWATCH_ADMIN_EMAIL set; not sending: %s", notice.subject)
        return None
    message = compose_message(notice, settings.admin_email, settings.mail_from)
    return transport_for(settings).send(message, [settings.admin_email])
