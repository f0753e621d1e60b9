"""API tokens: a named credential for another system, scoped like a compliance user (and, with `can_write`,
acting like a coordinator). Only the token's SHA-256 is kept; the token itself is shown once."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, ForeignKey, String, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from training.db import Base, utcnow
from training.people.models import Agency, Unit


class ApiToken(Base):
    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"))
    # The unit subtree the token reaches (None: the whole agency).
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    can_write: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # The last day the token works (None: until revoked).
    expires_on: Mapped[date | None]
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None]
    revoked_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    last_used_at: Mapped[datetime | None]

    agency: Mapped[Agency] = relationship()
    unit: Mapped[Unit | None] = relationship()
