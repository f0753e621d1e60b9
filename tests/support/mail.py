"""Loopback SMTP servers and what they received."""
from __future__ import annotations

import email
import threading
from email import policy


class PipeliningSink:
    """aiosmtpd's discarding handler (it keeps nothing), offering PIPELINING (RFC 2920): aiosmtpd reads each
    command and the content from one buffered stream, in order, so commands that arrive together are answered in
    turn."""

    pipelining = True

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        session.host_name = hostname
        return responses[:-1] + ["250-PIPELINING", responses[-1]] if self.pipelining else responses


class Mailbox(PipeliningSink):
    """What a loopback SMTP server received; it offers PIPELINING unless `pipelining` is set false."""

    def __init__(self, pipelining: bool = True):
        self.messages = []
        self.refuse = False
        self.refuse_recipients = False
        self.pipelining = pipelining

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


def start_mail_server(mailbox, port: int, *, smtputf8: bool = True):
    """An SMTP server on 127.0.0.1:`port` that hands what it receives to `mailbox`; the caller stops it.
    With `smtputf8` false, it does not offer SMTPUTF8 (addresses beyond ASCII)."""
    from aiosmtpd.controller import Controller

    controller = Controller(mailbox, hostname="127.0.0.1", port=port, enable_SMTPUTF8=smtputf8)
    controller.start()
    return controller
