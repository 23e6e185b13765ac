"""The send-under-lock loop, written once for alert e-mails and admin notices.

Each message is sent in a transaction of its own that locks its row (concurrent senders skip
it) and marks it sent before it commits; the connection is in autocommit mode meanwhile, so a
kill or a database outage resends at most the one message in flight, never those already sent.

A refusal that names this message (5xx: a bad recipient, a rejected message) is given up at
once; a passing failure (4xx, the server away) is retried by later runs up to `max_attempts`.
When the server itself is unreachable or times out, the loop stops: the next messages would
only wait out the same timeout one by one.
"""

from __future__ import annotations

import smtplib
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any, Literal

from flows.notify.mailer import Transport
from flows.store.db import Connection

Table = Literal["emails", "admin_notices"]
# Builds the message and its envelope recipients from the locked row.
Compose = Callable[[Connection, dict[str, Any]], tuple[EmailMessage, list[str]]]
DEFAULT_MAX_ATTEMPTS = 8


@dataclass
class SendOutcome:
    sent: list[tuple[dict[str, Any], str]] = field(default_factory=list)  # (row, location)
    failed: list[tuple[dict[str, Any], str]] = field(default_factory=list)  # (row, reason)
    given_up: int = 0
    stopped: str | None = None  # why the loop ended before the last message


def is_permanent(exc: BaseException) -> bool:
    """A 5xx answer about this message (or a server that cannot take it at all, like a UTF-8
    address without SMTPUTF8): sending it again cannot help."""
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        return True
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return all(code >= 500 for code, _ in exc.recipients.values())
    code = getattr(exc, "smtp_code", None)
    return isinstance(code, int) and code >= 500


def is_server_unreachable(exc: BaseException) -> bool:
    """The server itself is away (refused, timed out, dropped us): stop sending this run."""
    if isinstance(exc, smtplib.SMTPServerDisconnected | smtplib.SMTPConnectError):
        return True
    return isinstance(exc, OSError) and not isinstance(exc, smtplib.SMTPException)


def send_pending(
    connection: Connection,
    table: Table,
    columns: str,
    compose: Compose,
    transport: Transport,
    *,
    run_id: int | None = None,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
) -> SendOutcome:
    """Send every unsent, not given-up row of `table` once, oldest first.

    Call it outside a transaction block: work the connection has not committed yet is
    committed first, so that each message below is a transaction of its own.
    """
    outcome = SendOutcome()
    pending = [
        row["id"]
        for row in connection.execute(
            f"SELECT id FROM {table} WHERE sent_at IS NULL AND gave_up_at IS NULL ORDER BY id"
        )
    ]
    connection.commit()
    autocommit = connection.autocommit
    connection.autocommit = True
    try:
        for row_id in pending:
            with connection.transaction():
                row = connection.execute(
                    f"""SELECT id, attempts, {columns} FROM {table}
                        WHERE id = %s AND sent_at IS NULL AND gave_up_at IS NULL
                        FOR UPDATE SKIP LOCKED""",
                    (row_id,),
                ).fetchone()
                if row is None:
                    continue  # sent meanwhile, or being sent by a concurrent run
                try:
                    message, recipients = compose(connection, row)
                    location = transport.send(message, recipients)
                except (OSError, smtplib.SMTPException, ValueError) as exc:
                    reason = f"{type(exc).__name__}: {exc}"
                    give_up = is_permanent(exc) or isinstance(exc, ValueError)
                    give_up = give_up or row["attempts"] + 1 >= max_attempts
                    connection.execute(
                        f"""UPDATE {table} SET attempts = attempts + 1, last_error = %s,
                                gave_up_at = CASE WHEN %s THEN now() END
                            WHERE id = %s""",
                        (reason, give_up, row_id),
                    )
                    outcome.failed.append((row, reason))
                    outcome.given_up += int(give_up)
                    if is_server_unreachable(exc):
                        outcome.stopped = f"the mail server is unreachable ({reason})"
                        break
                    continue
                connection.execute(
                    f"""UPDATE {table} SET sent_at = now(), delivered_via = %s,
                            attempts = attempts + 1, last_error = NULL, sent_run_id = %s
                        WHERE id = %s""",
                    (location, run_id, row_id),
                )
            outcome.sent.append((row, location))
    finally:
        connection.autocommit = autocommit
    return outcome
