"""The links an alert e-mail carries: "your alerts" and one-click unsubscribe, signed per address.

`NEWSWATCH_PUBLIC_URL` is the base of every link; the tokens are flows/web/tokens.py's, so the
web app verifies what the outbox signs.
"""

from __future__ import annotations

from email.utils import parseaddr

from flows.config.settings import Settings
from flows.notify.recipients import preferences
from flows.notify.render import MailLinks
from flows.store.db import Connection
from flows.web.tokens import LinkSigner


class LinkMaker:
    def __init__(self, signer: LinkSigner, public_url: str, operator: str) -> None:
        self.signer = signer
        self.public_url = public_url.rstrip("/")
        self.operator = operator

    @classmethod
    def from_settings(cls, settings: Settings) -> LinkMaker:
        return cls(LinkSigner.from_settings(settings), settings.public_url, settings.operator_name)

    def manage_url(self, email: str, generation: int) -> str:
        return f"{self.public_url}/r/{self.signer.sign('manage', email, generation)}"

    def unsubscribe_url(self, email: str, generation: int, email_id: int) -> str:
        # The nonce names the e-mail: the link leaves that e-mail's watches, and acts once, so a
        # replay after an editor adds the address again does nothing.
        token = self.signer.sign("unsubscribe", email, generation, f"email-{email_id}")
        return f"{self.public_url}/u/{token}"

    def feed_url(self, watch_id: int, generation: int) -> str:
        return f"{self.public_url}/feed/{self.signer.sign('feed', str(watch_id), generation)}"

    def for_email(self, connection: Connection, email: str, email_id: int) -> MailLinks:
        generation = preferences(connection, email).token_generation
        return MailLinks(
            manage_url=self.manage_url(email, generation),
            unsubscribe_url=self.unsubscribe_url(email, generation, email_id),
            operator=self.operator,
            public_url=self.public_url,
        )


def sender_domain(sender: str) -> str:
    """The domain of the From address, for Message-IDs (RFC 5322: unique on the sender's side)."""
    address = parseaddr(sender)[1]
    return address.rpartition("@")[2] or "localhost"
