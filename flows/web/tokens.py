"""Signed links for people without accounts: recipients' pages, one-click unsubscribe, feeds.

A link carries a payload signed by itsdangerous (HMAC-SHA1 over a key derived from the web
secret, with a timestamp for expiry). What a link may do is in the payload: its scope, the one
address (or watch) it is for, and a generation number kept in the database, so raising the
generation (a recipient's "sign out every link", a watch's "new feed address") refuses every
earlier link without touching the secret. Rotating the secret itself: the old one goes to
`NEWSWATCH_WEB_PREVIOUS_SECRET` and keeps verifying until its links expire.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from flows.config.settings import Settings

SCOPES = ("manage", "unsubscribe", "feed")
_SALT = "newswatch-link"


class LinkError(ValueError):
    """A link that is tampered with, expired, for another purpose, or no longer valid."""


def web_secret(settings: Settings) -> str:
    """The configured secret, else one generated once and kept (0600) in the data directory."""
    if settings.web_secret is not None:
        return settings.web_secret.get_secret_value()
    path: Path = settings.web_secret_file
    if path.exists():
        return path.read_text(encoding="utf-8").strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    candidate = secrets.token_urlsafe(48)
    partial = path.with_suffix(f".{os.getpid()}.partial")
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(candidate)
    try:
        os.link(partial, path)  # fails if another process made it first: theirs wins
    except FileExistsError:
        pass
    finally:
        partial.unlink(missing_ok=True)
    return path.read_text(encoding="utf-8").strip()


@dataclass(frozen=True)
class LinkClaims:
    scope: str
    subject: str  # an e-mail address, or a watch id for feeds
    generation: int
    nonce: str | None


class LinkSigner:
    def __init__(self, secret: str, previous_secret: str | None, max_age_seconds: int) -> None:
        keys = [previous_secret, secret] if previous_secret else [secret]
        # itsdangerous signs with the last key and verifies with any of them.
        self._serializer = URLSafeTimedSerializer(keys, salt=_SALT)
        self.max_age_seconds = max_age_seconds

    @classmethod
    def from_settings(cls, settings: Settings) -> LinkSigner:
        previous = settings.web_previous_secret
        return cls(
            web_secret(settings),
            previous.get_secret_value() if previous else None,
            settings.link_max_age_days * 86400,
        )

    def sign(self, scope: str, subject: str, generation: int, nonce: str | None = None) -> str:
        if scope not in SCOPES:
            raise ValueError(f"unknown link scope {scope!r}")
        payload: dict[str, Any] = {"s": scope, "t": subject, "g": generation}
        if nonce:
            payload["n"] = nonce
        return str(self._serializer.dumps(payload))

    def verify(self, token: str, scope: str, expires: bool = True) -> LinkClaims:
        """The claims of a valid link of this scope, else LinkError saying why (no details)."""
        try:
            payload = self._serializer.loads(
                token, max_age=self.max_age_seconds if expires else None
            )
        except SignatureExpired:
            raise LinkError("this link has expired") from None
        except BadSignature:
            raise LinkError("this link is not valid") from None
        if not isinstance(payload, dict) or payload.get("s") != scope:
            raise LinkError("this link is not valid here")
        subject, generation = payload.get("t"), payload.get("g")
        if not isinstance(subject, str) or not isinstance(generation, int):
            raise LinkError("this link is not valid")
        nonce = payload.get("n")
        return LinkClaims(scope, subject, generation, nonce if isinstance(nonce, str) else None)
