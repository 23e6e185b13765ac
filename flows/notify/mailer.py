"""E-mail transports behind one small interface: SMTP when configured, .eml files otherwise."""

from __future__ import annotations

import re
import smtplib
import ssl
from email import policy
from email.message import EmailMessage
from email.utils import parseaddr
from pathlib import Path
from typing import Protocol

from flows.config.settings import Settings


class Transport(Protocol):
    name: str

    def send(self, message: EmailMessage, recipients: list[str]) -> str:
        """Deliver the message to `recipients` (the envelope, given explicitly: never taken from
        its headers); return where it went (server or file)."""
        ...


class SmtpTransport:
    """Plain SMTP with STARTTLS, implicit TLS or neither, and optional login."""

    name = "smtp"

    def __init__(self, settings: Settings) -> None:
        assert settings.smtp_host
        self.host = settings.smtp_host
        self.port = settings.smtp_port
        self.security = settings.smtp_security
        self.username = settings.smtp_username
        self.password = (
            settings.smtp_password.get_secret_value() if settings.smtp_password else None
        )
        self.timeout = settings.smtp_timeout_seconds

    def send(self, message: EmailMessage, recipients: list[str]) -> str:
        """One connection per message; a UTF-8 address needs the server's SMTPUTF8 (smtplib
        raises SMTPNotSupportedError without it)."""
        if not recipients:
            raise ValueError("no envelope recipient")
        context = ssl.create_default_context()
        client: smtplib.SMTP
        if self.security == "ssl":
            client = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=context)
        else:
            client = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        with client:
            if self.security == "starttls":
                client.starttls(context=context)
            if self.username:
                client.login(self.username, self.password or "")
            envelope_from = parseaddr(str(message["From"] or ""))[1] or None
            client.send_message(message, from_addr=envelope_from, to_addrs=recipients)
        return f"smtp://{self.host}:{self.port}"


class OutboxTransport:
    """Writes each message as <outbox>/<message-id>.eml: resending the same message is a no-op."""

    name = "eml"

    def __init__(self, outbox_dir: Path) -> None:
        self.outbox_dir = outbox_dir

    def send(self, message: EmailMessage, recipients: list[str]) -> str:
        self.outbox_dir.mkdir(parents=True, exist_ok=True)
        stem = re.sub(r"[^A-Za-z0-9._-]+", "_", str(message["Message-ID"]).strip("<>"))
        path = self.outbox_dir / f"{stem}.eml"
        partial = path.with_suffix(".eml.partial")
        partial.write_bytes(message_bytes(message))
        partial.replace(path)
        return str(path)


def message_bytes(message: EmailMessage) -> bytes:
    """The message's bytes: UTF-8 headers (RFC 6531) when an address needs them, as SMTPUTF8
    sends them (an encoded word is not allowed in an address); plain ASCII otherwise."""
    addresses = "".join(str(message.get(name, "")) for name in ("From", "To", "Cc"))
    if addresses.isascii():
        return bytes(message)
    return message.as_bytes(policy=policy.SMTPUTF8)


def transport_for(settings: Settings) -> Transport:
    if settings.smtp_configured:
        return SmtpTransport(settings)
    return OutboxTransport(settings.outbox_dir)
