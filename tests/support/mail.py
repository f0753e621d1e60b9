"""Loopback SMTP servers and what they received."""
from __future__ import annotations

import email
import threading
from email import policy


class Mailbox:
    """What a loopback SMTP server received."""

    def __init__(self):
        self.messages = []
        self.refuse = False
        self.refuse_recipients = False

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.refuse_recipients:
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.refuse:
            return "451 Try again later"
        self.messages.append(email.message_from_bytes(envelope.content, policy=policy.default))
        return "250 OK"


class StoppingMailbox(Mailbox):
    """Accepts messages; during the `stop_at`-th it shuts the whole server down before answering.
    Its `controller` is the server it stops: set it to what start_mail_server returns."""

    def __init__(self, stop_at: int | None = None):
        super().__init__()
        self.stop_at = stop_at
        self.seen = 0
        self.controller = None
        self.stopping: threading.Thread | None = None

    async def handle_DATA(self, server, session, envelope):
        self.seen += 1
        if self.seen == self.stop_at:
            # The server goes down with this message in hand: the connection drops, no reply is sent.
            self.stopping = threading.Thread(target=self.controller.stop)
            self.stopping.start()
            server.transport.close()
            return "421 Shutting down"
        return await super().handle_DATA(server, session, envelope)


def start_mail_server(mailbox, port: int):
    """An SMTP server on 127.0.0.1:`port` that hands what it receives to `mailbox`; the caller stops it."""
    from aiosmtpd.controller import Controller

    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    return controller
