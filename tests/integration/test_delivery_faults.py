"""Sending under faults, against a real SMTP server and Postgres: a kill or a database outage
between messages resends at most the one in flight; one recipient's problem (a UTF-8 address,
a refused mailbox) is that recipient's only; watch names cannot add envelope recipients; a
server that is away costs one timeout, not one per e-mail."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from email import message_from_bytes, policy
from email.message import EmailMessage

import psycopg
import pytest

from flows.config.settings import REPO_ROOT, Settings
from flows.match import matcher
from flows.match.watches import add_watch
from flows.notify import admin as admin_notices
from flows.notify import outbox
from flows.notify.mailer import SmtpTransport
from flows.store import articles as store
from flows.store import db
from tests.support import alert_fixtures as fx
from tests.support.smtp import SmtpSink

DESKS = [f"desk{n}@example.com" for n in range(6)]


def _worker_env() -> dict[str, str]:
    return dict(os.environ, PYTHONPATH=str(REPO_ROOT))


def _queue(url: str, settings: Settings, articles: list[fx.Article]) -> outbox.QueueResult:
    with db.connect(url) as connection:
        run_id = store.start_run(connection, ["daily8"])
        store.store_articles(connection, articles, run_id)
        matcher.match_new_articles(connection, run_id)
        return outbox.queue_emails(connection, run_id, settings.mail_from)


def _message_ids(sink: SmtpSink) -> Counter[str]:
    return Counter(
        str(message_from_bytes(raw, policy=policy.default)["Message-ID"])
        for _, _, raw in sink.messages
    )


@pytest.fixture
def six_emails(clean_db: str, smtp_server: SmtpSink) -> str:
    with db.connect(clean_db) as connection:
        for number, desk in enumerate(DESKS):
            add_watch(connection, f"ferry-{number}", "ferry", desk)
    assert _queue(clean_db, Settings(), [fx.FERRY]).instant == 6
    return clean_db


def test_kill_between_emails_resends_none_already_sent(
    six_emails: str, smtp_server: SmtpSink
) -> None:
    killed = subprocess.run(
        [sys.executable, "-m", "tests.support.stage_worker", "kill-before-send", "4", six_emails],
        env=_worker_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert killed.returncode == -9, killed.stderr
    assert len(smtp_server.messages) == 3
    with db.connect(six_emails) as connection:
        sent = connection.execute("SELECT count(*) AS n FROM emails WHERE sent_at IS NOT NULL")
        assert sent.fetchone() == {"n": 3}  # each committed as it went, not at the end
    settings = Settings()
    with db.connect(six_emails) as connection:
        rest = outbox.deliver_pending(connection, SmtpTransport(settings), settings.mail_from)
    assert rest.sent == 3
    ids = _message_ids(smtp_server)
    assert len(ids) == 6 and set(ids.values()) == {1}  # six e-mails, each received once


class OutageAfterSend(SmtpTransport):
    """The database goes away (its backend terminated) right after the Nth message went out."""

    def __init__(self, settings: Settings, url: str, backend_pid: int, nth: int) -> None:
        super().__init__(settings)
        self.url, self.backend_pid, self.nth, self.calls = url, backend_pid, nth, 0

    def send(self, message: EmailMessage, recipients: list[str]) -> str:
        location = super().send(message, recipients)
        self.calls += 1
        if self.calls == self.nth:
            with psycopg.connect(self.url, autocommit=True) as other:
                other.execute("SELECT pg_terminate_backend(%s)", (self.backend_pid,))
        return location


def test_database_outage_while_sending_resends_only_the_one_in_flight(
    six_emails: str, smtp_server: SmtpSink
) -> None:
    settings = Settings()
    with db.connect(six_emails) as connection:
        run_id = store.start_run(connection, ["daily8"])
    with db.connect(six_emails) as connection:
        pid = connection.info.backend_pid
        transport = OutageAfterSend(settings, six_emails, pid, nth=4)
        with pytest.raises(psycopg.OperationalError):
            outbox.deliver_pending(connection, transport, settings.mail_from, run_id=run_id)
    assert len(smtp_server.messages) == 4
    with db.connect(six_emails) as connection:  # the retry, as the flow's task would
        again = outbox.deliver_pending(
            connection, SmtpTransport(settings), settings.mail_from, run_id=run_id
        )
        # The run's count comes from Postgres: both attempts' e-mails, not the retry's only.
        assert outbox.sent_by_run(connection, run_id) == 6
    assert again.sent == 3  # the one in flight, and the two never tried
    ids = _message_ids(smtp_server)
    assert len(ids) == 6
    assert sorted(ids.values()) == [1, 1, 1, 1, 1, 2]  # only the in-flight one came twice


def test_kill_between_admin_notices_resends_none_already_sent(
    clean_db: str, smtp_server: SmtpSink
) -> None:
    with db.connect(clean_db) as connection:
        for number in range(3):
            notice = admin_notices.Notice(f"test:{number}", "run-failed", f"notice {number}", "x")
            admin_notices.queue(connection, notice, "ops@example.com")
    killed = subprocess.run(
        [
            sys.executable,
            *("-m", "tests.support.stage_worker", "kill-before-send", "3", clean_db, "notices"),
        ],
        env=_worker_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert killed.returncode == -9, killed.stderr
    assert len(smtp_server.messages) == 2
    settings = Settings()
    with db.connect(clean_db) as connection:
        rest = admin_notices.deliver_pending(connection, SmtpTransport(settings), "nw@localhost")
    assert rest == ["test:2"]
    assert len(smtp_server.messages) == 3


@pytest.fixture
def utf8_smtp(monkeypatch: pytest.MonkeyPatch) -> Iterator[SmtpSink]:
    sink = SmtpSink(smtputf8=True)
    sink.controller.start()
    monkeypatch.setenv("NEWSWATCH_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("NEWSWATCH_SMTP_PORT", str(sink.port))
    monkeypatch.setenv("NEWSWATCH_SMTP_SECURITY", "none")
    yield sink
    sink.controller.stop()


def _two_watchers(url: str) -> None:
    with db.connect(url) as connection:
        add_watch(connection, "ferry", "ferry", "josé@example.com")
        add_watch(connection, "orchard", "orchard", "analyst@example.com")


def test_utf8_address_goes_out_with_smtputf8(clean_db: str, utf8_smtp: SmtpSink) -> None:
    _two_watchers(clean_db)
    settings = Settings()
    assert _queue(clean_db, settings, [fx.FERRY, fx.ORCHARD]).instant == 2
    with db.connect(clean_db) as connection:
        result = outbox.deliver_pending(connection, SmtpTransport(settings), settings.mail_from)
    assert result.sent == 2 and result.errors == []
    envelopes = sorted(recipients for _, recipients, _ in utf8_smtp.messages)
    assert envelopes == [["analyst@example.com"], ["josé@example.com"]]
    (raw,) = [
        raw for _, recipients, raw in utf8_smtp.messages if recipients == ["josé@example.com"]
    ]
    assert "To: josé@example.com" in raw.decode("utf-8")


def test_utf8_address_without_smtputf8_fails_alone(clean_db: str, smtp_server: SmtpSink) -> None:
    _two_watchers(clean_db)
    settings = Settings()
    _queue(clean_db, settings, [fx.FERRY, fx.ORCHARD])
    with db.connect(clean_db) as connection:
        result = outbox.deliver_pending(connection, SmtpTransport(settings), settings.mail_from)
        row = connection.execute(
            "SELECT last_error, gave_up_at IS NOT NULL AS gave_up FROM emails "
            "WHERE recipient = 'josé@example.com'"
        ).fetchone()
    assert result.sent == 1  # the other recipient's e-mail went
    assert [recipients for _, recipients, _ in smtp_server.messages] == [["analyst@example.com"]]
    assert row is not None and "SMTPNotSupportedError" in row["last_error"]
    assert row["gave_up"]  # the server cannot take it: not retried by every run
    assert any("josé@example.com" in error for error in result.errors)


def test_watch_name_cannot_add_envelope_recipients(clean_db: str, smtp_server: SmtpSink) -> None:
    with db.connect(clean_db) as connection:
        add_watch(connection, "=?utf-8?q?a=0D=0ABcc:_x@y.z?=", "ferry", "analyst@example.com")
    settings = Settings()
    _queue(clean_db, settings, [fx.FERRY])
    with db.connect(clean_db) as connection:
        assert outbox.deliver_pending(connection, SmtpTransport(settings), "nw@localhost").sent == 1
    ((_, recipients, raw),) = smtp_server.messages
    assert recipients == ["analyst@example.com"]
    header_block = raw.split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0]
    names = [line.split(b":", 1)[0].lower() for line in header_block.splitlines()]
    assert b"bcc" not in names


def test_refused_mailbox_is_given_up_not_retried_every_run(
    clean_db: str, smtp_server: SmtpSink
) -> None:
    _two_watchers(clean_db)
    with db.connect(clean_db) as connection:
        add_watch(connection, "gone", "ferry", "gone@example.com")
    smtp_server.unknown_recipients.add("gone@example.com")
    settings = Settings()
    monkey = {"NEWSWATCH_SMTP_HOST", "NEWSWATCH_SMTP_PORT"}
    assert monkey <= set(os.environ)
    _queue(clean_db, settings, [fx.FERRY])
    for _ in range(3):  # three runs
        with db.connect(clean_db) as connection:
            outbox.deliver_pending(connection, SmtpTransport(settings), settings.mail_from)
    with db.connect(clean_db) as connection:
        row = connection.execute(
            "SELECT attempts, gave_up_at IS NOT NULL AS gave_up, last_error FROM emails "
            "WHERE recipient = 'gone@example.com'"
        ).fetchone()
    assert row is not None and row["attempts"] == 1 and row["gave_up"], row
    assert "550" in row["last_error"]


@pytest.fixture
def silent_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[int]:
    """A TCP port that accepts connections (the kernel's backlog) and never says a word."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        port = int(listener.getsockname()[1])
        monkeypatch.setenv("NEWSWATCH_SMTP_HOST", "127.0.0.1")
        monkeypatch.setenv("NEWSWATCH_SMTP_PORT", str(port))
        monkeypatch.setenv("NEWSWATCH_SMTP_SECURITY", "none")
        monkeypatch.setenv("NEWSWATCH_SMTP_TIMEOUT_SECONDS", "1")
        yield port


def test_server_timing_out_costs_one_attempt_not_one_per_email(
    clean_db: str, silent_server: int
) -> None:
    with db.connect(clean_db) as connection:
        for number, desk in enumerate(DESKS[:3]):
            add_watch(connection, f"ferry-{number}", "ferry", desk)
    settings = Settings()
    _queue(clean_db, settings, [fx.FERRY])
    with db.connect(clean_db) as connection:
        result = outbox.deliver_pending(connection, SmtpTransport(settings), settings.mail_from)
        attempts = connection.execute("SELECT sum(attempts) AS n FROM emails").fetchone()
    assert result.sent == 0 and result.failed == 1
    assert attempts == {"n": 1}
    assert "timed out" in result.errors[0]
    assert "sending stopped" in result.errors[-1]
