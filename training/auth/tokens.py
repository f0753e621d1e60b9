"""Invitation and password-reset links: random, single-use, short-lived, stored only as their SHA-256.

A link is asked for first (`issue`: a row naming the account, what it is for and when it expires, with no token
yet); the token itself is made when the message carrying it is written (`mint`), so it never waits anywhere in
the clear, and only its hash is kept. A message written again (a retry after the mail server refused it) gets a
fresh token and the one before stops working.

A link stops working when it is used, when it expires, when a newer one of the same kind is issued for the
account, when the account's password changes by any path (the row keeps a fingerprint of the password hash as
it was when the link was issued), and when the account is deactivated (`revoke_for`, and the account must be
active when the link is used). Deactivation clears the account's calendar address too (`revoke_for`).
"""
from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, ForeignKey, Index, String, exists, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from training.audit.models import AuditEvent
from training.db import Base, utcnow
from training.people.models import User

INVITATION, RESET = "invitation", "password-reset"
PURPOSES = (INVITATION, RESET)
# Longest token accepted from a link: token_urlsafe(32) makes 43 characters.
MAX_TOKEN = 128


class AccountToken(Base):
    """One invitation or password-reset link for one account."""

    __tablename__ = "account_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    purpose: Mapped[str] = mapped_column(String(16))
    # SHA-256 of the token in the link; None until the message carrying it is written.
    token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    # SHA-256 of the account's password hash when the link was issued: a password change since then voids it.
    password_marker: Mapped[str] = mapped_column(String(64))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    mailed_at: Mapped[datetime | None]
    used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    # Why it was revoked: "replaced", "used" (another link of the account was), "deactivated".
    revoked_why: Mapped[str | None] = mapped_column(String(16))

    __table_args__ = (Index("ix_account_tokens_user", "user_id", "purpose", "created_at"),)


class TokenRefused(Exception):
    """The link does not open anything; `reason` says why (for the audit trail), `token` the row when known."""

    def __init__(self, reason: str, token: AccountToken | None = None):
        super().__init__(reason)
        self.reason, self.token = reason, token


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def password_marker(user: User) -> str:
    return hashlib.sha256((user.password_hash or "").encode()).hexdigest()


def is_open(now: datetime) -> list[ColumnElement[bool]]:
    """SQL conditions of a link that may still be used (the account's password aside)."""
    return [AccountToken.used_at.is_(None), AccountToken.revoked_at.is_(None), AccountToken.expires_at > now]


def issue(session: Session, user: User, purpose: str, now: datetime, lifetime: timedelta,
          created_by_id: int | None = None) -> AccountToken:
    """A new link for the account; earlier open links of the same kind stop working."""
    if purpose not in PURPOSES:
        raise ValueError(f"unknown purpose {purpose!r}")
    session.execute(update(AccountToken)
                    .where(AccountToken.user_id == user.id, AccountToken.purpose == purpose, *is_open(now))
                    .values(revoked_at=now, revoked_why="replaced").execution_options(synchronize_session=False))
    token = AccountToken(user_id=user.id, purpose=purpose, password_marker=password_marker(user),
                         created_by_id=created_by_id, created_at=now, expires_at=now + lifetime)
    session.add(token)
    session.flush()
    return token


def why_not(token: AccountToken, user: User | None, now: datetime) -> str | None:
    """None while the link may be used; else "used", "expired", "replaced", "deactivated" or "password changed"."""
    if token.used_at is not None:
        return "used"
    if token.revoked_at is not None:
        return token.revoked_why or "revoked"
    if user is None or not user.active:
        return "deactivated"
    if token.expires_at <= now:
        return "expired"
    if token.password_marker != password_marker(user):
        return "password changed"
    return None


def mint(session: Session, token: AccountToken, now: datetime) -> str | None:
    """The token for the message about to be written, or None when the link no longer applies. Only its hash is
    kept; a token minted before for the same row stops working."""
    if why_not(token, session.get(User, token.user_id), now) is not None:
        return None
    raw = secrets.token_urlsafe(32)
    token.token_hash, token.mailed_at = digest(raw), now
    session.flush()
    return raw


def find(session: Session, raw: str, purpose: str) -> AccountToken | None:
    if not raw or len(raw) > MAX_TOKEN:
        return None
    return session.scalar(select(AccountToken).where(AccountToken.token_hash == digest(raw),
                                                     AccountToken.purpose == purpose))


def check(session: Session, raw: str, purpose: str, now: datetime) -> tuple[AccountToken, User]:
    """The link's row and account when it may be used; raises TokenRefused otherwise."""
    token = find(session, raw, purpose)
    if token is None:
        raise TokenRefused("unknown")
    user = session.get(User, token.user_id)
    reason = why_not(token, user, now)
    if reason is not None:
        raise TokenRefused(reason, token)
    return token, user


def use(session: Session, token: AccountToken, now: datetime) -> None:
    """The link has been used: it, and every other open link of the account, stop working."""
    token.used_at = now
    session.execute(update(AccountToken)
                    .where(AccountToken.user_id == token.user_id, AccountToken.id != token.id, *is_open(now))
                    .values(revoked_at=now, revoked_why="used").execution_options(synchronize_session=False))


def revoke_for(session: Session, user_ids: Iterable[int], now: datetime, why: str = "deactivated") -> None:
    """Every open link of these accounts stops working (deactivated accounts), and so does their calendar address
    (training/feeds), so that re-activating an account does not bring an old one back; a thousand accounts a
    statement."""
    ids = list(user_ids)
    for start in range(0, len(ids), 1000):
        batch = ids[start:start + 1000]
        session.execute(update(AccountToken)
                        .where(AccountToken.user_id.in_(batch), *is_open(now))
                        .values(revoked_at=now, revoked_why=why).execution_options(synchronize_session=False))
        session.execute(update(User).where(User.id.in_(batch), User.calendar_token_hash.is_not(None))
                        .values(calendar_token_hash=None))


def never_signed_in() -> ColumnElement[bool]:
    """SQL condition on User: no sign-in on record, by any means."""
    return ~exists().where(AuditEvent.actor_id == User.id, AuditEvent.action == "auth.signed_in")


def without_sign_in() -> list[ColumnElement[bool]]:
    """SQL conditions on User: an active account that cannot sign in yet (no password, never signed in)."""
    return [User.active.is_(True), User.password_hash.is_(None), never_signed_in()]


@dataclass(frozen=True)
class SignInState:
    """For the unit page: an account that has never signed in, and its latest invitation."""
    user_id: int
    name: str
    employee_id: str | None
    has_password: bool
    invited_at: datetime | None
    expires_at: datetime | None
    state: str          # "not invited", "invited", "expired", "replaced", "used", ...


def never_signed_in_states(session: Session, where: list[ColumnElement[bool]], now: datetime,
                           limit: int = 200) -> tuple[list[SignInState], int]:
    """Active accounts matching `where` that have never signed in, with their latest invitation; at most
    `limit` of them, and how many there are."""
    from sqlalchemy import func

    conditions = [User.active.is_(True), never_signed_in(), *where]
    total = session.scalar(select(func.count()).select_from(User).where(*conditions))
    people = session.execute(select(User.id, User.first_name, User.last_name, User.employee_id,
                                    User.password_hash.is_not(None))
                             .where(*conditions).order_by(User.last_name, User.first_name, User.id)
                             .limit(limit)).all() if limit else []
    latest: dict[int, AccountToken] = {}
    if people:
        for token in session.scalars(select(AccountToken)
                                     .where(AccountToken.user_id.in_([p[0] for p in people]),
                                            AccountToken.purpose == INVITATION)
                                     .order_by(AccountToken.created_at, AccountToken.id)):
            latest[token.user_id] = token
    states = []
    for user_id, first, last, employee_id, has_password in people:
        token = latest.get(user_id)
        if token is None:
            state = "not invited"
        elif token.used_at is not None:
            state = "used"
        elif token.revoked_at is not None:
            state = token.revoked_why or "revoked"
        elif token.expires_at <= now:
            state = "expired"
        else:
            state = "invited"
        states.append(SignInState(user_id, f"{last}, {first}", employee_id, bool(has_password),
                                  token.created_at if token else None, token.expires_at if token else None, state))
    return states, total or 0
