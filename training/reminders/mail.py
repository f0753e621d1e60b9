"""Building messages and sending them over SMTP."""
from __future__ import annotations

import smtplib
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from email.header import Header
from email.message import Message
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import formatdate

import icalendar


@dataclass(frozen=True)
class Letter:
    """A message to one person: its subject, plain text, HTML and, for a due date, a calendar entry."""

    to: str
    subject: str
    text: str
    html: str
    calendar: bytes | None = None


def due_date_event(uid: str, summary: str, due_on: date, url: str, description: str) -> bytes:
    """An all-day iCalendar event on the due date; the same `uid` updates the same calendar entry."""
    cal = icalendar.Calendar()
    cal.add("prodid", "-//Rollcall//Training reminders//EN")
    cal.add("version", "2.0")
    cal.add("method", "PUBLISH")
    event = icalendar.Event()
    event.add("uid", uid)
    event.add("dtstamp", datetime.now(UTC))
    event.add("dtstart", due_on)
    event.add("dtend", due_on + timedelta(days=1))
    event.add("summary", summary)
    event.add("description", description)
    event.add("url", url)
    event.add("transp", "TRANSPARENT")
    cal.add_component(event)
    return cal.to_ical()


def build_message(letter: Letter, *, sender: str, message_id: str, request_id: str | None = None) -> Message:
    """A plain-text and HTML message; the due date travels as an .ics attachment when there is one.

    The Message-ID is stable for a queued row, so a copy sent twice after a crash
    is recognisable as the same message. Built with the classic MIME classes,
    which write a message several times faster than `EmailMessage`. X-Request-ID names the request or job run
    that sent it, as its log lines and audit events do.
    """
    # Every part is base64 (utf-8), whose lines never hold "=_": a boundary made here needs no search of the
    # parts, which the generator would otherwise make, compiling a pattern per message.
    message = MIMEMultipart("alternative", boundary=f"=_{uuid.uuid4().hex}")
    message.attach(MIMEText(letter.text, "plain", "utf-8"))
    message.attach(MIMEText(letter.html, "html", "utf-8"))
    if letter.calendar:
        body, message = message, MIMEMultipart("mixed", boundary=f"=_{uuid.uuid4().hex}")
        message.attach(body)
        calendar = MIMEText(letter.calendar.decode("utf-8"), "calendar", "utf-8")
        calendar.set_param("method", "PUBLISH")
        calendar.add_header("Content-Disposition", "attachment", filename="due-date.ics")
        message.attach(calendar)
    message["From"] = sender
    message["To"] = letter.to
    # Plain ASCII as it is; anything else, and any line break, in an encoded word.
    plain = letter.subject.isascii() and letter.subject.isprintable()
    message["Subject"] = letter.subject if plain else Header(letter.subject, "utf-8")
    message["Message-ID"] = message_id
    if request_id:
        message["X-Request-ID"] = request_id
    message["Date"] = formatdate(localtime=False)
    return message


def send(messages: list[Message], config: Mapping) -> list[str | None]:
    """Send over one SMTP connection; per message, None when accepted or the error text.

    A server that cannot be reached, or refuses the connection, raises OSError or
    SMTPException: nothing of the batch was sent.
    """
    results: list[str | None] = []
    with smtplib.SMTP(config["SMTP_HOST"], config["SMTP_PORT"], timeout=15) as smtp:
        if config.get("SMTP_STARTTLS"):
            smtp.starttls()
        if config.get("SMTP_USERNAME"):
            smtp.login(config["SMTP_USERNAME"], config.get("SMTP_PASSWORD") or "")
        for message in messages:
            try:
                smtp.send_message(message)
                results.append(None)
            except smtplib.SMTPServerDisconnected as exc:
                # The rest of the batch was not handed over; what was accepted stays accepted.
                results.extend([f"SMTPServerDisconnected: {exc}"] * (len(messages) - len(results)))
                break
            except smtplib.SMTPException as exc:
                results.append(f"{type(exc).__name__}: {exc}")
    return results
