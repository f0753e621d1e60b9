"""Sending one message over SMTP."""
from __future__ import annotations

import smtplib
from email.message import EmailMessage
from typing import Mapping

from training.reminders.models import OutboxMessage


def build_message(row: OutboxMessage, sender: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = row.to_email
    message["Subject"] = row.subject
    message["Message-ID"] = f"<rollcall-{row.id}-{row.key.replace(':', '.')}@rollcall>"
    message.set_content(row.body_text)
    message.add_alternative(row.body_html, subtype="html")
    return message


def send(messages: list[EmailMessage], config: Mapping) -> list[str | None]:
    """Send over one SMTP connection; per message, None when accepted or the error text."""
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
            except smtplib.SMTPException as exc:
                results.append(f"{type(exc).__name__}: {exc}")
    return results
