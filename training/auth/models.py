"""Sign-in failures counted per window, throttled refusals counted per window, the sessions the server has
opened, authenticators being set up, and recovery codes."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from training.db import Base, utcnow


class SignInFailure(Base):
    """Failed sign-ins for one account or one address in one fixed window; shared by every process."""

    __tablename__ = "sign_in_failures"

    # "account:<email>" or "address:<ip>"
    key: Mapped[str] = mapped_column(String(300), primary_key=True)
    window_start: Mapped[datetime] = mapped_column(primary_key=True)
    count: Mapped[int] = mapped_column(default=0)


class ThrottleRefusal(Base):
    """Requests refused because a throttle key was held, for one key and window (training/auth/throttle.py,
    `record_refusal`): the first refusal is the audit event `event_id`, the later ones are only counted here."""

    __tablename__ = "throttle_refusals"

    key: Mapped[str] = mapped_column(String(300), primary_key=True)
    window_start: Mapped[datetime] = mapped_column(primary_key=True)
    count: Mapped[int] = mapped_column(default=1)
    last_at: Mapped[datetime] = mapped_column(default=utcnow)
    event_id: Mapped[int | None] = mapped_column(ForeignKey("audit_events.id"))


class UserSession(Base):
    """A signed-in browser. The cookie holds a random token; only its SHA-256 is stored."""

    __tablename__ = "user_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    ended_at: Mapped[datetime | None]


class SecondFactorSetup(Base):
    """A key offered to one browser's authenticator, waiting for the code that confirms it.

    The secret stays on the server, encrypted; the browser's cookie holds a random token whose SHA-256 names
    this row. It is good for SECOND_FACTOR_SETUP_MINUTES.
    """

    __tablename__ = "second_factor_setups"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    secret_encrypted: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class RecoveryCode(Base):
    """A single-use code that stands in for the authenticator.

    Only the SHA-256 of the code is kept, and that encrypted with ENCRYPTION_KEYS (training/auth/second_factor.py
    says why), so the table alone gives nothing to guess against.
    """

    __tablename__ = "recovery_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    code_hash: Mapped[str] = mapped_column(String(255))
    used_at: Mapped[datetime | None]
