"""Why a message was not delivered, in plain words: the one home of that wording.

The outbox keeps each delivery error as "ExceptionName: text" (training/reminders/delivery.py and mail.py);
`plain_error` turns it into a sentence an administrator can act on. The raw text stays on the row.
"""
from __future__ import annotations

import re

_CODE = re.compile(r"\((\d{3}),|^(\d{3})\b|'(\d{3})\b| (\d{3}) ")

# Exception names, checked in order, with what they mean.
BY_NAME = (
    ("SMTPRecipientsRefused", "The mail server refused the recipient address."),
    ("SMTPSenderRefused", "The mail server refused the sender address (MAIL_FROM)."),
    ("SMTPAuthenticationError", "The mail server did not accept Rollcall's sign-in (SMTP_USERNAME and SMTP_PASSWORD)."),
    ("SMTPNotSupportedError", "The mail server does not offer what Rollcall asked for (STARTTLS or sign-in): "
                              "check SMTP_STARTTLS and SMTP_USERNAME."),
    ("ConnectionRefusedError", "The mail server could not be reached (connection refused)."),
    ("TimeoutError", "The mail server did not answer in time."),
    ("timeout", "The mail server did not answer in time."),
    ("gaierror", "The mail server's name could not be found (SMTP_HOST)."),
    ("SSLError", "The secure connection to the mail server failed (its certificate or TLS settings)."),
    ("SSLCertVerificationError", "The secure connection to the mail server failed (its certificate or TLS settings)."),
    ("SMTPServerDisconnected", "The mail server closed the connection before it took the message."),
    ("SMTPConnectError", "The mail server would not open a connection."),
    ("SMTPHeloError", "The mail server would not open a connection."),
    ("ConnectionResetError", "The connection to the mail server was cut."),
)
TOO_LARGE = "The message was too large for the mail server."


def smtp_code(text: str) -> int | None:
    """The SMTP reply code in an error's text, e.g. 550 in "(550, b'5.1.1 unknown user')"."""
    match = _CODE.search(text)
    return int(next(group for group in match.groups() if group)) if match else None


def plain_error(raw: str | None) -> str | None:
    """The error as a sentence; None for no error."""
    if not raw:
        return None
    name, _, text = raw.partition(": ")
    code = smtp_code(text)
    # 552 on the sender (its SIZE) or on the message itself; on a recipient it means a full mailbox.
    if (code == 552 and name != "SMTPRecipientsRefused") or "5.3.4" in text or "too large" in text.lower():
        return TOO_LARGE
    for known, sentence in BY_NAME:
        if name == known:
            return sentence
    if code is not None and 400 <= code < 500:
        return f"The mail server asked Rollcall to try again later (reply {code})."
    if code is not None and 500 <= code < 600:
        return f"The mail server refused the message (reply {code})."
    if name.endswith("Error") and "Errno" in text:
        reason = text.split("]", 1)[-1].strip().rstrip(".")
        return f"The mail server could not be reached ({reason[:1].lower()}{reason[1:]})."
    return "The message could not be sent."
