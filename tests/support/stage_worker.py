"""newswatch's stages in a process of their own, as a flow run does them (for delivery tests).

python -m tests.support.stage_worker run DATABASE_URL GO_FILE BATCH   store, match, queue, deliver
python -m tests.support.stage_worker crash-after-send DATABASE_URL    dies (SIGKILL) right after the
                                                              SMTP server accepted a message
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
from flows.notify import outbox
from flows.notify.mailer import SmtpTransport
from flows.store import articles as store
from flows.store import db
from tests.support import alert_fixtures


class CrashAfterSend(SmtpTransport):
    """A real crash between the server's 250 and the commit that marks the e-mail sent."""

    def send(self, message: EmailMessage) -> str:
        location = super().send(message)
        os.kill(os.getpid(), signal.SIGKILL)
        return location


def main(argv: list[str]) -> int:
    mode, url = argv[0], argv[1]
    settings = Settings()
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
