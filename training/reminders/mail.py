"""Building messages and sending them over SMTP."""
from __future__ import annotations

import random
import smtplib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from email.base64mime import body_encode
from email.header import Header
from email.policy import Compat32
from email.utils import formatdate, parseaddr

import icalendar


@dataclass(frozen=True)
class Letter:
    """A message to one person: its subject, plain text, HTML and, for a due date, a calendar entry."""

    to: str
    subject: str
    text: str
    html: str
    calendar: bytes | None = None


def due_date_event(uid: str, summary: str, due_on: date, url: str, description: str,
                   stamp: datetime | None = None) -> bytes:
    """An all-day iCalendar event on the due date; the same `uid` updates the same calendar entry."""
    cal = icalendar.Calendar()
    cal.add("prodid", "-//Rollcall//Training reminders//EN")
    cal.add("version", "2.0")
    cal.add("method", "PUBLISH")
    event = icalendar.Event()
    event.add("uid", uid)
    event.add("dtstamp", stamp or datetime.now(UTC))
    event.add("dtstart", due_on)
    event.add("dtend", due_on + timedelta(days=1))
    event.add("summary", summary)
    event.add("description", description)
    event.add("url", url)
    event.add("transp", "TRANSPARENT")
    cal.add_component(event)
    return cal.to_ical()


class DueDateEvents:
    """Due-date events for one delivery, all stamped with its start.

    Most of a day's reminders share a module, a due date and a time zone: their
    events differ only in the UID. icalendar writes each distinct event once, and
    each copy gets its own UID line (written by icalendar too) in place of a
    placeholder's: a twentieth of the cost of writing the event.
    """

    PLACEHOLDER = "rollcall-uid-placeholder"
    # A catch-up of overdue reminders has many due dates: what is kept stays small, whatever the delivery.
    KEPT = 1000

    def __init__(self, stamp: datetime | None = None):
        self.stamp = stamp or datetime.now(UTC)
        self.written: dict[tuple, bytes] = {}
        self.event = icalendar.Event()
        self.placeholder_line = self._uid_line(self.PLACEHOLDER)

    def _uid_line(self, uid: str) -> bytes:
        # A whole line, from the line break before it, so nothing in another property's text can match it.
        return b"\r\n" + self.event.content_line("UID", icalendar.vText(uid)).to_ical() + b"\r\n"

    def __call__(self, uid: str, summary: str, due_on: date, url: str, description: str) -> bytes:
        key = (summary, due_on, url, description)
        if (written := self.written.get(key)) is None:
            if len(self.written) >= self.KEPT:
                self.written.clear()
            written = self.written[key] = due_date_event(self.PLACEHOLDER, summary, due_on, url, description,
                                                         self.stamp)
        return written.replace(self.placeholder_line, self._uid_line(uid), 1)


class _Wire(Compat32):
    """compat32 written for SMTP (CRLF), with the header folding it does short-cut for plain headers.

    compat32 passes every header through email.header.Header to fold it, the
    largest part of writing a message out. A header of printable ASCII that fits
    on one line comes out of that unchanged, so it is written as it is; any other
    goes the usual way.
    """

    def _plain(self, name: str, value) -> bool:
        return (isinstance(value, str) and len(name) + len(value) + 2 <= self.max_line_length and value.isascii()
                and value.isprintable())

    def fold(self, name, value):
        return f"{name}: {value}{self.linesep}" if self._plain(name, value) else super().fold(name, value)

    def fold_binary(self, name, value):
        if self._plain(name, value):
            return f"{name}: {value}{self.linesep}".encode("ascii")
        return super().fold_binary(name, value)


WIRE = _Wire(linesep="\r\n")


def _text_part(subtype: str, text: str, params: str = "", headers: str = "") -> bytes:
    """A part as MIMEText(text, subtype, "utf-8") writes it, base64 in utf-8: `params` added to its Content-Type,
    `headers` (each a line of its own) after its own."""
    return (f'Content-Type: text/{subtype}; charset="utf-8"{params}\r\nMIME-Version: 1.0\r\n'
            f"Content-Transfer-Encoding: base64\r\n{headers}\r\n"
            + body_encode(text.encode("utf-8")).replace("\n", "\r\n")).encode("ascii")


def _multipart(subtype: str, parts: list[bytes], headers: bytes = b"") -> bytes:
    """A multipart as the email package writes it, its `headers` (written out) after its own."""
    # Every part is base64, whose lines never hold "=_": a boundary made here needs no search of the parts. It
    # needs to be unique, not secret: no call for the operating system's randomness (a system call, and a wait
    # for the GIL after it). 112 bits keep the longest Content-Type on one line.
    boundary = f"=_{random.getrandbits(112):028x}"
    return (WIRE.fold_binary("Content-Type", f'multipart/{subtype}; boundary="{boundary}"')
            + b"MIME-Version: 1.0\r\n" + headers + f"\r\n--{boundary}\r\n".encode()
            + f"\r\n--{boundary}\r\n".encode().join(parts) + f"\r\n--{boundary}--\r\n".encode())


def wire(letter: Letter, *, sender: str, message_id: str, request_id: str | None = None) -> bytes:
    """A plain-text and HTML message as it goes over SMTP; the due date travels as an .ics attachment when there
    is one.

    The Message-ID is stable for a queued row, so a copy sent twice after a crash
    is recognisable as the same message. X-Request-ID names the request or job
    run that sent it, as its log lines and audit events do. The message is what
    the classic MIME classes make and the email package writes out with compat32
    for SMTP (tests/test_delivery.py proves it byte for byte), written directly:
    each header through the same policy, the parts' fixed headers and the
    boundaries as the generator lays them out, several times faster.
    """
    # Plain ASCII as it is; anything else, and any line break, in an encoded word.
    plain = letter.subject.isascii() and letter.subject.isprintable()
    headers = [("From", sender), ("To", letter.to), ("Subject", letter.subject if plain else
                                                      Header(letter.subject, "utf-8")), ("Message-ID", message_id)]
    if request_id:
        headers.append(("X-Request-ID", request_id))
    headers.append(("Date", formatdate(localtime=False)))
    written = b"".join(WIRE.fold_binary(name, value) for name, value in headers)
    parts = [_text_part("plain", letter.text), _text_part("html", letter.html)]
    if not letter.calendar:
        return _multipart("alternative", parts, written)
    calendar = _text_part("calendar", letter.calendar.decode("utf-8"), '; method="PUBLISH"',
                          'Content-Disposition: attachment; filename="due-date.ics"\r\n')
    return _multipart("mixed", [_multipart("alternative", parts), calendar], written)


def send(messages: list[tuple[str, bytes]], config: Mapping) -> list[str | None]:
    """Send (recipient, wire bytes) over one SMTP connection; per message, None when accepted or the error text.

    A server that offers PIPELINING (RFC 2920) gets one round trip per message
    (see `_pipelined`); any other, one per command, through smtplib's sendmail. A
    server that cannot be reached, or refuses the connection, raises OSError or
    SMTPException: nothing of the batch was sent.
    """
    sender = parseaddr(config["MAIL_FROM"])[1]
    results: list[str | None] = []
    with smtplib.SMTP(config["SMTP_HOST"], config["SMTP_PORT"], timeout=15) as smtp:
        if config.get("SMTP_STARTTLS"):
            smtp.starttls()
        if config.get("SMTP_USERNAME"):
            smtp.login(config["SMTP_USERNAME"], config.get("SMTP_PASSWORD") or "")
        smtp.ehlo_or_helo_if_needed()
        if smtp.has_extn("pipelining"):
            return _pipelined(smtp, sender, messages)
        for to, data in messages:
            try:
                smtp.sendmail(sender, [to], data, mail_options=_utf8_options(sender, to))
                results.append(None)
            except smtplib.SMTPServerDisconnected as exc:
                # The rest of the batch was not handed over; what was accepted stays accepted.
                results.extend([_error(exc)] * (len(messages) - len(results)))
                break
            except smtplib.SMTPException as exc:
                results.append(_error(exc))
    return results


def _utf8_options(sender: str, to: str) -> tuple[str, ...]:
    # As send_message does: an address beyond ASCII needs the server's SMTPUTF8.
    return () if (sender + to).isascii() else ("SMTPUTF8", "BODY=8BITMIME")


def _error(exc: Exception) -> str:
    return f"{type(exc).__name__}: {exc}"


def _pipelined(smtp: smtplib.SMTP, sender: str, messages: list[tuple[str, bytes]]) -> list[str | None]:
    """Send over a connection whose server offers PIPELINING: a message's MAIL, RCPT and DATA go in one write, and
    its content goes with the next message's MAIL, RCPT and DATA, so each message costs one round trip.

    Each reply is still read and checked, in order, as smtplib's sendmail checks
    them (the same errors): the content is sent only after the server's 354 to
    DATA, and a message is accepted only on the server's 250 after its content.
    An envelope the server refused is reset (RSET) before the next. When the
    connection is lost, the message in hand and the rest of the batch are errors;
    what was accepted stays accepted.
    """
    results: list[str | None] = []
    mail_from = smtplib.quoteaddr(sender)

    def envelope(n: int) -> bytes | None:
        """The commands of the n-th message (its recipient a bare address, as an officer's is), or None when the
        server cannot take them (an address beyond ASCII and no SMTPUTF8)."""
        to, data = messages[n]
        options = ([f"SIZE={len(data)}"] if smtp.has_extn("size") else []) + list(_utf8_options(sender, to))
        if "SMTPUTF8" in options and not smtp.has_extn("smtputf8"):
            return None
        return f"MAIL FROM:{mail_from}{''.join(' ' + o for o in options)}\r\nRCPT TO:<{to}>\r\nDATA\r\n".encode()

    commands = envelope(0) if messages else None
    written = False
    for n, (to, data) in enumerate(messages):
        try:
            if commands is None:
                results.append(_error(smtplib.SMTPNotSupportedError("SMTPUTF8 not supported by server")))
                commands = envelope(n + 1) if n + 1 < len(messages) else None
                continue
            if not written:
                smtp.send(commands)
            (mail_code, mail_reply), (rcpt_code, rcpt_reply), (data_code, data_reply) = (
                smtp.getreply(), smtp.getreply(), smtp.getreply())
            commands = envelope(n + 1) if n + 1 < len(messages) else None
            following = commands or b""
            if mail_code == 250 and rcpt_code in (250, 251) and data_code == 354:
                smtp.send(_quoted(data) + following)
                code, reply = smtp.getreply()
                results.append(None if code == 250 else _error(smtplib.SMTPDataError(code, reply)))
            else:
                if mail_code != 250:
                    error = smtplib.SMTPSenderRefused(mail_code, mail_reply, sender)
                elif rcpt_code not in (250, 251):
                    error = smtplib.SMTPRecipientsRefused({to: (rcpt_code, rcpt_reply)})
                else:
                    error = smtplib.SMTPDataError(data_code, data_reply)
                if data_code == 354:
                    # DATA was taken though the envelope was not: an empty content ends it, delivered to no one.
                    smtp.send(b".\r\n")
                    smtp.getreply()
                smtp.send(b"RSET\r\n" + following)
                smtp.getreply()
                results.append(_error(error))
            written = bool(following)
        except OSError as exc:   # SMTPServerDisconnected among them
            results.extend([_error(exc)] * (len(messages) - len(results)))
            break
    return results


def _quoted(data: bytes) -> bytes:
    """The content as DATA carries it, as smtplib's data() sends it: a line's leading dot doubled, the end marked."""
    quoted = data.replace(b"\n.", b"\n..")
    quoted = b"." + quoted if quoted.startswith(b".") else quoted
    return quoted + (b".\r\n" if quoted.endswith(b"\r\n") else b"\r\n.\r\n")
