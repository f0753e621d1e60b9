"""Each person's private calendar address: a random token in the path, of which only the SHA-256 is kept.

Making an address replaces the one before (the old one then answers "not found"); deactivating the account
clears it (training/auth/tokens.py `revoke_for`), so re-activation does not bring an old address back.
"""
from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from training.audit.models import AuditEvent
from training.audit.service import record
from training.auth.tokens import MAX_TOKEN, digest
from training.people.models import User

MADE, REPLACED = "calendar.address_made", "calendar.address_replaced"


def make_address(session: Session, user: User) -> str:
    """A new token for the person's calendar address, returned once; an address made before stops working."""
    raw = secrets.token_urlsafe(32)
    replacing = user.calendar_token_hash is not None
    user.calendar_token_hash = digest(raw)
    session.flush()
    record(session, REPLACED if replacing else MADE, actor_id=user.id, target=f"user:{user.id}", about=user)
    return raw


def owner_of(session: Session, raw: str) -> User | None:
    """The active account whose calendar address holds this token; None for any other token alike."""
    if not raw or len(raw) > MAX_TOKEN:
        return None
    user = session.scalar(select(User).where(User.calendar_token_hash == digest(raw)))
    return user if user is not None and user.active else None


def address_made_at(session: Session, user: User) -> datetime | None:
    """When the person's current address was made (UTC); None when they have none."""
    if user.calendar_token_hash is None:
        return None
    return session.scalar(select(AuditEvent.at).where(AuditEvent.action.in_((MADE, REPLACED)),
                                                      AuditEvent.target == f"user:{user.id}")
                          .order_by(AuditEvent.id.desc()).limit(1))
