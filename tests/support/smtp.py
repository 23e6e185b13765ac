"""A real SMTP server for tests (aiosmtpd) that keeps what it receives and can be told to refuse."""

from __future__ import annotations

import socket


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class SmtpSink:
    """Messages as (envelope sender, envelope recipients, raw bytes), in the order received."""

    def __init__(self, smtputf8: bool = False) -> None:
        from aiosmtpd.controller import Controller

        self.messages: list[tuple[str, list[str], bytes]] = []
        self.refuse = False
        # Recipients refused for good (550), as a server does for a mailbox that does not exist.
        self.unknown_recipients: set[str] = set()
        self.port = free_port()
        self.controller = Controller(
            self, hostname="127.0.0.1", port=self.port, enable_SMTPUTF8=smtputf8
        )

    async def handle_RCPT(
        self, server: object, session: object, envelope: object, address: str, options: object
    ) -> str:
        if address in self.unknown_recipients:
            return "550 5.1.1 no such mailbox"
        envelope.rcpt_tos.append(address)  # type: ignore[attr-defined]
        return "250 OK"

    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
        if self.refuse:
            return "451 4.3.0 try again later"
        self.messages.append(
            (envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content)  # type: ignore[attr-defined]
        )
        return "250 OK"
