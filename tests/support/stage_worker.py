"""newswatch's stages in a process of their own, as a flow run does them (for delivery tests).

python -m tests.support.stage_worker run DATABASE_URL GO_FILE BATCH   store, match, queue, deliver
python -m tests.support.stage_worker crash-after-send DATABASE_URL    dies (SIGKILL) right after the
                                                              SMTP server accepted a message
python -m tests.support.stage_worker kill-before-send N DATABASE_URL [notices]
                                                              dies (SIGKILL) between messages, as
                                                              the Nth is about to go out
"""

from __future__ import annotations

import os
import signal
import sys
import time
from email.message import EmailMessage
from pathlib import Path

from flows.config.settings import Settings
from flows.match import matcher
from flows.notify import admin, outbox
from flows.notify.mailer import SmtpTransport
from flows.store import articles as store
from flows.store import db
from tests.support import alert_fixtures


class CrashAfterSend(SmtpTransport):
    """A real crash between the server's 250 and the commit that marks the e-mail sent."""

    def send(self, message: EmailMessage, recipients: list[str]) -> str:
        location = super().send(message, recipients)
        os.kill(os.getpid(), signal.SIGKILL)
        return location


class KillBeforeSend(SmtpTransport):
    """A kill between two messages: the first N-1 went out (and were marked), the Nth never."""

    def __init__(self, settings: Settings, nth: int) -> None:
        super().__init__(settings)
        self.nth = nth
        self.calls = 0

    def send(self, message: EmailMessage, recipients: list[str]) -> str:
        self.calls += 1
        if self.calls == self.nth:
            os.kill(os.getpid(), signal.SIGKILL)
        return super().send(message, recipients)


def main(argv: list[str]) -> int:
    mode, url = argv[0], argv[1]
    settings = Settings()
    if mode == "kill-before-send":
        nth, url = int(argv[1]), argv[2]
        transport = KillBeforeSend(settings, nth)
        with db.connect(url) as connection:
            if argv[3:] == ["notices"]:
                admin.deliver_pending(connection, transport, settings.mail_from)
            else:
                outbox.deliver_pending(connection, transport, settings.mail_from)
        return 0
    with db.connect(url) as connection:
        if mode == "crash-after-send":
            outbox.deliver_pending(connection, CrashAfterSend(settings), settings.mail_from)
            return 0
        go_file = Path(argv[2])
        deadline = time.monotonic() + 60
        while not go_file.exists() and time.monotonic() < deadline:
            time.sleep(0.005)
        if mode == "deliver":
            outbox.deliver_pending(connection, SmtpTransport(settings), settings.mail_from)
            return 0
        batch = argv[3]
        articles = getattr(alert_fixtures, batch)
        run_id = store.start_run(connection, ["daily8"])
        store.store_articles(connection, articles, run_id)
        matcher.match_new_articles(connection, run_id)
        outbox.queue_emails(connection, run_id, settings.mail_from)
        outbox.deliver_pending(connection, SmtpTransport(settings), settings.mail_from)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
