"""Queueing messages in the outbox and delivering them."""
from __future__ import annotations

import smtplib
from collections.abc import Callable, Mapping
from datetime import date

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from training.audit.service import record
from training.certification.status import course_states
from training.db import utcnow
from training.people.models import User
from training.reminders import mail
from training.reminders.models import OutboxMessage

MAX_ATTEMPTS = 8
OPEN_STATUSES = ("assigned", "overdue", "expiring", "lapsed")


def queue(session: Session, rows: list[dict]) -> list[int]:
    """Insert outbox rows, skipping any whose key is already queued; returns the new rows' ids."""
    if not rows:
        return []
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    now = utcnow()
    stmt = insert(OutboxMessage).values([{**r, "created_at": now, "status": "pending", "attempts": 0}
                                         for r in rows])
    result = session.execute(stmt.on_conflict_do_nothing(index_elements=["key"]).returning(OutboxMessage.id))
    return list(result.scalars())


def queue_nudges(session: Session, user_ids: list[int], on: date, render: Callable[..., tuple[str, str, str]],
                 actor_id: int | None) -> tuple[list[int], int]:
    """Queue one message per officer listing what they must do; at most one nudge per officer a day.

    `render(user=..., states=...)` returns (subject, text, html). Returns the queued rows' ids
    and how many officers had nothing to do.
    """
    if not user_ids:
        return [], 0
    states: dict[int, list] = {}
    for state in course_states(session, on, User.id.in_(user_ids)):
        if state.status in OPEN_STATUSES:
            states.setdefault(state.user_id, []).append(state)
    users = {u.id: u for u in session.scalars(select(User).where(User.id.in_(list(states))))}
    rows = []
    for user_id, items in states.items():
        subject, text, html = render(user=users[user_id], states=items)
        rows.append({"key": f"nudge:{user_id}:{on.isoformat()}", "kind": "nudge", "user_id": user_id,
                     "to_email": users[user_id].email, "subject": subject, "body_text": text,
                     "body_html": html, "created_by_id": actor_id})
    queued = queue(session, rows)
    record(session, "reminder.nudged", actor_id=actor_id, target="officers", selected=len(user_ids),
           queued=len(queued), nothing_due=len(user_ids) - len(states))
    return queued, len(user_ids) - len(states)


def deliver(session: Session, config: Mapping, *, ids: list[int] | None = None, limit: int = 500) -> dict[str, int]:
    """Send pending messages; a refused or unreachable server leaves them pending with the error."""
    stmt = select(OutboxMessage).where(OutboxMessage.status == "pending").order_by(OutboxMessage.id).limit(limit)
    if ids is not None:
        stmt = stmt.where(OutboxMessage.id.in_(ids))
    rows = list(session.scalars(stmt))
    if not rows:
        return {"sent": 0, "failed": 0, "pending": 0}
    try:
        errors = mail.send([mail.build_message(r, config["MAIL_FROM"]) for r in rows], config)
    except (OSError, smtplib.SMTPException) as exc:
        errors = [f"{type(exc).__name__}: {exc}"] * len(rows)
    counts = {"sent": 0, "failed": 0, "pending": 0}
    for row, error in zip(rows, errors):
        row.attempts += 1
        if error is None:
            row.status, row.sent_at, row.last_error = "sent", utcnow(), None
        else:
            row.last_error = error
            row.status = "failed" if row.attempts >= MAX_ATTEMPTS else "pending"
        counts[row.status] += 1
    session.flush()
    return counts
