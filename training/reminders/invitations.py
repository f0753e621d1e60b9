"""Invitations to choose a password, and password-reset links, sent through the outbox.

Each link is one outbox row (kind "invitation" or "password-reset", key "<kind>:<link id>"), so it is queued and
delivered exactly once, like a reminder. The token in the link is made when the letter is written
(training/auth/tokens.py, `mint`): a row whose link was used, replaced, revoked or expired before it went out is
cancelled instead of sent.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from training.audit.service import record
from training.auth import tokens
from training.auth.tokens import INVITATION, RESET, AccountToken
from training.clock import local_time, server_today
from training.db import insert_ignoring_conflicts
from training.people.models import User
from training.reminders.mail import Letter
from training.reminders.models import OutboxMessage

TOKEN_KINDS = (INVITATION, RESET)
PATHS = {INVITATION: "invitation", RESET: "password/reset"}


def queue_link(session: Session, token: AccountToken, actor_id: int | None, now: datetime) -> int | None:
    """One outbox row for the link; its id (None if that link was already queued)."""
    row = {"key": f"{token.purpose}:{token.id}", "kind": token.purpose, "user_id": token.user_id,
           "decided_on": server_today(now), "created_by_id": actor_id, "status": "pending", "attempts": 0,
           "created_at": now}
    stmt = insert_ignoring_conflicts(session, OutboxMessage).values(row)
    return session.scalar(stmt.on_conflict_do_nothing(index_elements=["key"]).returning(OutboxMessage.id))


@dataclass
class Invited:
    """What inviting a set of accounts did."""
    queued: list[int] = field(default_factory=list)        # outbox rows
    sent_to: list[int] = field(default_factory=list)       # accounts invited now
    already: int = 0                                       # an invitation still open, not sent again


def invite(session: Session, where: list[ColumnElement[bool]], now: datetime, days: int,
           actor_id: int | None, *, resend: bool = False, via: str = "web",
           allowed: Callable[[User], bool] = lambda _user: True) -> Invited:
    """Invite every active account matching `where` that cannot sign in yet (no password, never signed in) and
    that `allowed` lets the actor act on. An account whose invitation is still open is left alone unless
    `resend`: then it gets a fresh invitation and the old link stops working."""
    done = Invited()
    people = list(session.scalars(select(User).where(*tokens.without_sign_in(), *where).order_by(User.id)))
    open_ids = set(session.scalars(select(AccountToken.user_id).where(
        AccountToken.user_id.in_([p.id for p in people]), AccountToken.purpose == INVITATION,
        *tokens.is_open(now)))) if people else set()
    for user in people:
        if not allowed(user):
            continue
        if user.id in open_ids and not resend:
            done.already += 1
            continue
        token = tokens.issue(session, user, INVITATION, now, timedelta(days=days), created_by_id=actor_id)
        queued = queue_link(session, token, actor_id, now)
        if queued is not None:
            done.queued.append(queued)
        done.sent_to.append(user.id)
        record(session, "invitation.sent", actor_id=actor_id, target=f"user:{user.id}", about=user, via=via,
               resend=user.id in open_ids, expires_at=token.expires_at.isoformat(timespec="minutes"))
    return done


def invite_employees(session: Session, employee_ids: list[str], now: datetime, days: int, actor_id: int | None,
                     *, via: str, allowed: Callable[[User], bool] = lambda _user: True) -> Invited:
    """`invite` for the people of a roster file, a thousand at a time."""
    done = Invited()
    for start in range(0, len(employee_ids), 1000):
        part = invite(session, [User.employee_id.in_(employee_ids[start:start + 1000])], now, days, actor_id,
                      via=via, allowed=allowed)
        done.queued += part.queued
        done.sent_to += part.sent_to
        done.already += part.already
    return done


def long_time(instant: datetime, time_zone: str | None) -> str:
    """'Thursday 3 December 2026 at 14:05 (America/Chicago)'."""
    local, zone = local_time(instant, time_zone)
    return f"{local:%A} {local.day} {local:%B %Y at %H:%M} ({zone})"


def letters(session: Session, rows: list[OutboxMessage], render: Callable[..., tuple[str, str]], base_url: str,
            now: datetime) -> dict[int, Letter | None]:
    """The letters for invitation and reset rows; None for a row whose link no longer applies."""
    ids = {row.id: int(row.key.rsplit(":", 1)[1]) for row in rows}
    links = {t.id: t for t in session.scalars(select(AccountToken).where(AccountToken.id.in_(ids.values())))}
    written: dict[int, Letter | None] = {}
    for row in rows:
        token = links.get(ids[row.id])
        raw = tokens.mint(session, token, now) if token is not None else None
        if raw is None:
            written[row.id] = None
            continue
        user, sender = row.recipient, session.get(User, token.created_by_id) if token.created_by_id else None
        zone = user.agency.time_zone if user.agency else None
        context = dict(url=f"{base_url}/{PATHS[token.purpose]}/{raw}", expires=long_time(token.expires_at, zone),
                       agency=user.agency.name if user.agency else None,
                       sender=f"{sender.full_name} ({sender.role})" if sender else None)
        name = "invitation" if token.purpose == INVITATION else "password_reset"
        text, html = render(name, **context)
        subject = ("Rollcall: choose a password to start your training" if token.purpose == INVITATION
                   else "Rollcall: reset your password")
        written[row.id] = Letter(user.email, subject, text, html)
    return written
