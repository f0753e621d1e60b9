"""API tokens: made (shown once, only their SHA-256 kept), listed, revoked, and checked on every request.

A token works until it is revoked, and through its `expires_on` (the agency's day) when it has one. It stops
working, too, when the scope it was made for is gone: its agency, or its unit (or the unit left the agency).
"""
from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from training.api.models import ApiToken
from training.audit.service import Concern, record
from training.auth.tokens import digest
from training.clock import agency_today
from training.people.models import Agency, Unit

# Tokens look like "rc_" and 43 URL-safe characters; anything much longer is not one of ours.
PREFIX = "rc_"
MAX_TOKEN = 128
NAME_LENGTH = 100


class TokenError(ValueError):
    """A token cannot be made or revoked as asked; nothing was changed. Its words are shown as they are, beside
    `field` (the name of what was given wrong: name, agency, unit or expires) where a form shows them."""

    def __init__(self, message: str, field: str = "name"):
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Refusal:
    """Why a token opens nothing: `reason` a short code, `detail` a sentence for whoever holds the token."""
    reason: str
    detail: str


def concern_of(token: ApiToken) -> Concern:
    """What an event done with or to the token concerns: its agency, or its unit."""
    return Concern(None, token.agency_id, token.unit_id)


def named(token: ApiToken) -> dict:
    """How an audit event names the token it was done with."""
    return {"id": token.id, "name": token.name}


def resolve_scope(session: Session, agency_code: str, unit_code: str | None) -> tuple[Agency, Unit | None]:
    agency = session.scalar(select(Agency).where(Agency.code == (agency_code or "").strip()))
    if agency is None:
        raise TokenError(f"no agency has the code {agency_code}", "agency")
    unit = None
    if unit_code:
        unit = session.scalar(select(Unit).where(Unit.code == unit_code.strip()))
        if unit is None:
            raise TokenError(f"no unit has the code {unit_code}", "unit")
        if unit.agency_id != agency.id:
            raise TokenError(f"unit {unit.code} belongs to another agency, not {agency.code}", "unit")
    return agency, unit


def create_token(session: Session, name: str, agency: Agency, unit: Unit | None, *, can_write: bool,
                 expires_on: date | None, actor_id: int | None, now: datetime, via: str) -> tuple[ApiToken, str]:
    """A new token and its text, which is shown once and never kept; the making is an audit event."""
    name = (name or "").strip()
    if not name:
        raise TokenError("give the token a name saying which system uses it")
    if len(name) > NAME_LENGTH:
        raise TokenError(f"the name is longer than {NAME_LENGTH} characters")
    if expires_on is not None and expires_on < agency_today(agency, now):
        raise TokenError(f"the last day the token works ({expires_on.isoformat()}) is already past", "expires")
    raw = PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(name=name, token_hash=digest(raw), agency_id=agency.id, unit_id=unit.id if unit else None,
                     can_write=can_write, expires_on=expires_on, created_by_id=actor_id, created_at=now)
    session.add(token)
    session.flush()
    record(session, "api_token.created", actor_id=actor_id, target=f"api_token:{token.id}", about=concern_of(token),
           token=named(token), agency=agency.code, unit=unit.code if unit else None, write=can_write,
           expires_on=expires_on.isoformat() if expires_on else None, via=via)
    return token, raw


def revoke_token(session: Session, token: ApiToken, *, actor_id: int | None, now: datetime, via: str) -> None:
    """The token stops working at once; revoking is an audit event."""
    if token.revoked_at is not None:
        raise TokenError(f"token {token.id} ({token.name}) was already revoked")
    token.revoked_at, token.revoked_by_id = now, actor_id
    record(session, "api_token.revoked", actor_id=actor_id, target=f"api_token:{token.id}", about=concern_of(token),
           token=named(token), via=via)


def all_tokens(session: Session) -> list[tuple[ApiToken, Agency, Unit | None]]:
    """Every token with its agency and unit, working ones first, newest first."""
    return [tuple(row) for row in session.execute(
        select(ApiToken, Agency, Unit).join(Agency, Agency.id == ApiToken.agency_id)
        .outerjoin(Unit, Unit.id == ApiToken.unit_id)
        .order_by(ApiToken.revoked_at.is_not(None), ApiToken.created_at.desc(), ApiToken.id.desc()))]


def state_of(token: ApiToken, agency: Agency | None, unit: Unit | None, now: datetime) -> str:
    """"working", "revoked", "expired" or "scope gone"."""
    refusal = why_not(token, agency, unit, now)
    return "working" if refusal is None else refusal.reason


def why_not(token: ApiToken, agency: Agency | None, unit: Unit | None, now: datetime) -> Refusal | None:
    """None while the token works; else why it does not."""
    if token.revoked_at is not None:
        return Refusal("revoked", f"The token was revoked on {token.revoked_at:%Y-%m-%d}.")
    if agency is None or (token.unit_id is not None and (unit is None or unit.agency_id != token.agency_id)):
        return Refusal("scope gone", "The agency or unit the token was made for no longer exists in Rollcall.")
    if token.expires_on is not None and agency_today(agency, now) > token.expires_on:
        return Refusal("expired", f"The token expired after {token.expires_on.isoformat()} ({agency.time_zone}).")
    return None


def find(session: Session, raw: str) -> ApiToken | None:
    if not raw or len(raw) > MAX_TOKEN:
        return None
    return session.scalar(select(ApiToken).where(ApiToken.token_hash == digest(raw)))


def check(session: Session, raw: str, now: datetime) -> tuple[ApiToken | None, Agency | None, Refusal | None]:
    """The token the text names, its agency and None while it works; else what is known and why it does not."""
    token = find(session, raw)
    if token is None:
        return None, None, Refusal("unknown", "The token is not known to Rollcall.")
    agency = session.get(Agency, token.agency_id)
    unit = session.get(Unit, token.unit_id) if token.unit_id is not None else None
    return token, agency, why_not(token, agency, unit, now)
