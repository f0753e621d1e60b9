"""Server-side sessions: each sign-in opens a row; sign-out, a password change or deactivation ends it."""
from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from flask import g
from sqlalchemy import delete, exists, or_, select, update
from sqlalchemy.orm import Session, aliased, joinedload, with_expression

from training.auth.models import SecondFactorSetup, SignInFailure, UserSession
from training.people.models import User

# last_seen_at is written at most this often, not on every request.
TOUCH_EVERY = timedelta(minutes=1)


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def open_session(session: Session, user_id: int, now: datetime) -> str:
    """A new session for the user; returns the token for the cookie (the database keeps its hash)."""
    token = secrets.token_urlsafe(32)
    session.add(UserSession(token_hash=digest(token), user_id=user_id, created_at=now, last_seen_at=now))
    return token


def end_session(session: Session, token: str | None, now: datetime) -> None:
    if token:
        session.execute(update(UserSession)
                        .where(UserSession.token_hash == digest(token), UserSession.ended_at.is_(None))
                        .values(ended_at=now))


def end_all_sessions(session: Session, user_id: int, now: datetime) -> None:
    """Every open session of the account ends: its cookies stop working on every browser."""
    end_sessions_of(session, [user_id], now)


def end_sessions_of(session: Session, user_ids: list[int], now: datetime) -> None:
    """Every open session of these accounts ends, in one statement per thousand accounts."""
    for start in range(0, len(user_ids), 1000):
        session.execute(update(UserSession).where(UserSession.user_id.in_(user_ids[start:start + 1000]),
                                                  UserSession.ended_at.is_(None)).values(ended_at=now))


def why_ended(row: UserSession | None, user_id: int, now: datetime, idle: timedelta, absolute: timedelta) -> str | None:
    """None while the session may go on; otherwise "ended", "idle" or "absolute"."""
    if row is None or row.user_id != user_id or row.ended_at is not None:
        return "ended"
    if now - row.created_at >= absolute:
        return "absolute"
    if now - row.last_seen_at >= idle:
        return "idle"
    return None


def check_session(session: Session, token: str | None, user_id: int, now: datetime, idle: timedelta,
                  absolute: timedelta) -> tuple[str | None, User | None]:
    """Check a request's session and note the activity: the reason it ended (None while it goes on), and the
    account it is of.

    The session is read with its account, the account's agency and whether anyone reports to them, which every
    signed-in page reads next (who is signed in, their agency's day, the menu and home of a supervisor): one
    statement where there would be four."""
    report = aliased(User, name="report")
    found = session.execute(select(UserSession, User).outerjoin(User, User.id == UserSession.user_id)
                            .where(UserSession.token_hash == digest(token))
                            .options(joinedload(User.agency),
                                     with_expression(User.has_reports, exists().where(report.supervisor_id == User.id)))
                            ).first() if token else None
    row, account = found if found else (None, None)
    reason = why_ended(row, user_id, now, idle, absolute)
    if reason is None and now - row.last_seen_at >= TOUCH_EVERY:
        row.last_seen_at = now
    elif reason in ("idle", "absolute"):
        row.ended_at = now
    return reason, account


def vouch_for(account: User) -> None:
    """This request's server-side session is live and is `account`'s: the one way a request is signed in."""
    g.session_account = account


def vouched_for() -> User | None:
    """The account whose live server-side session this request carries, or None."""
    return g.get("session_account")


def purge(session: Session, now: datetime, absolute: timedelta, keep: timedelta = timedelta(days=1)) -> None:
    """Forget sessions that ended, or could only have ended, failure counts and authenticator set-ups never
    confirmed, more than `keep` ago."""
    session.execute(delete(UserSession).where(or_(UserSession.ended_at < now - keep,
                                                  UserSession.created_at < now - absolute - keep)))
    session.execute(delete(SignInFailure).where(SignInFailure.window_start < now - keep))
    session.execute(delete(SecondFactorSetup).where(SecondFactorSetup.created_at < now - keep))
