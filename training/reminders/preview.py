"""The outbox as an administrator reads it: each message as its recipient sees it, and its state in words."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask import Flask
from sqlalchemy.orm import Session

from training.clock import local_date, local_time, viewer_zone
from training.people.models import User
from training.reminders.compose import Composer
from training.reminders.errors import plain_error
from training.reminders.invitations import TOKEN_KINDS
from training.reminders.models import OutboxMessage

PERSONAL_LINK = ("This message holds a personal link to choose a password, made when it is sent; "
                 "it is not shown here.")
NOTHING_TO_SAY = "It cannot be written from today's records: what it was about has changed since."


@dataclass(frozen=True)
class Shown:
    row: OutboxMessage
    subject: str | None
    body: str | None        # the plain text part, as the recipient reads it
    note: str | None        # why there is no body, or how the body was written
    state: str
    error: str | None       # the last delivery error in plain words


def _times(n: int) -> str:
    return f"{n} time{'' if n == 1 else 's'}"


def state(row: OutboxMessage, zone: str) -> str:
    """Where the message stands, in words, times on the reader's clocks."""
    def at(instant: datetime | None) -> str:
        return local_time(instant, zone)[0].strftime("%Y-%m-%d %H:%M") if instant else ""

    if row.status == "sent":
        return f"Sent {at(row.sent_at)}"
    if row.status == "failed":
        return f"Failed {_times(row.attempts)}; retry it once the cause is fixed"
    if row.status == "cancelled":
        return "Cancelled: it no longer applied when it was due to go"
    if row.attempts:
        return f"Not sent yet: tried {_times(row.attempts)}, next try {at(row.next_attempt_at)}"
    return f"Queued: next try {at(row.next_attempt_at)}" if row.next_attempt_at else "Queued for the next delivery"


def shown(session: Session, app: Flask, rows: list[OutboxMessage], viewer: User) -> list[Shown]:
    """The rows with their letters, written as delivery writes them: a sent message from the records now but
    counting days from when it was sent. Links to choose a password are never written here (writing one makes
    a new link)."""
    zone = viewer_zone(viewer)
    by_day: dict = {}
    letters: dict = {}
    for row in rows:
        if row.kind not in TOKEN_KINDS:
            by_day.setdefault(local_date(row.sent_at, None) if row.sent_at else None, []).append(row)
    for day, group in by_day.items():
        now = max(r.sent_at for r in group) if day is not None else None
        letters.update(Composer(session, app.jinja_env, app.config, now=now).letters(group))
    result = []
    for row in rows:
        letter = letters.get(row.id)
        if row.kind in TOKEN_KINDS:
            note = PERSONAL_LINK
        elif letter is None:
            note = NOTHING_TO_SAY
        else:
            note = ("Written again from today's records, counting days from when it was sent."
                    if row.sent_at else "As it would be written now; it is written again when it is sent.")
        # The subject kept when it was last sent or tried is the one the recipient saw.
        subject = row.subject or (letter.subject if letter else None)
        result.append(Shown(row, subject, letter.text if letter else None, note, state(row, zone),
                            plain_error(row.last_error)))
    return result
