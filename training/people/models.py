"""Agencies, units and the people in them."""
from __future__ import annotations

from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import Boolean, ForeignKey, Index, String, false, text
from sqlalchemy.orm import Mapped, mapped_column, query_expression, relationship

from training.db import Base, utcnow

ROLES = ("officer", "coordinator", "compliance", "admin")


class Agency(Base):
    __tablename__ = "agencies"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    time_zone: Mapped[str] = mapped_column(String(64), default="America/New_York")


class Unit(Base):
    __tablename__ = "units"

    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"), index=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    # Materialised path of unit ids ("/3/17/42/") so a subtree is one LIKE query.
    path: Mapped[str] = mapped_column(String(512), index=True, default="/")

    agency: Mapped[Agency] = relationship()


class User(UserMixin, Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str | None] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16), default="officer")
    first_name: Mapped[str] = mapped_column(String(100))
    last_name: Mapped[str] = mapped_column(String(100))
    employee_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    agency_id: Mapped[int | None] = mapped_column(ForeignKey("agencies.id"), index=True)
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"), index=True)
    supervisor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    # For coordinators and compliance staff: the unit subtree they act on (None: the whole agency).
    scope_unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # When the account was last deactivated (None while active): the retention purge counts its years from it.
    deactivated_at: Mapped[datetime | None]
    # Second factor: the TOTP secret once enrolled, encrypted with ENCRYPTION_KEYS (training/auth/keys.py), and
    # the last time step accepted (a code works once).
    totp_secret_encrypted: Mapped[str | None] = mapped_column(String(255))
    totp_last_step: Mapped[int | None]
    # One of the documented demo sign-ins: outside production it needs no second factor.
    demo_account: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # SHA-256 of the token in the person's private calendar address (training/feeds); None until one is made.
    calendar_token_hash: Mapped[str | None] = mapped_column(String(64), index=True, unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    agency: Mapped[Agency | None] = relationship(foreign_keys=[agency_id])
    unit: Mapped[Unit | None] = relationship(foreign_keys=[unit_id])
    # Whether anyone reports to them, when the statement that loaded the account asked (the signed-in account's
    # does, `check_session`); None otherwise (`training.access.supervises` then asks the database).
    has_reports: Mapped[bool | None] = query_expression()

    # ix_users_name: the roster's order, which the roster export walks by keyset (training/records/status.py).
    __table_args__ = (Index("ix_users_agency_unit", "agency_id", "unit_id"),
                      Index("ix_users_name", "last_name", "first_name", "id"),
                      # The active accounts by id, as `User.active.is_(True)` reads on each dialect: the daily
                      # passes join their candidates to it, and read the index alone.
                      Index("ix_users_active", "id", sqlite_where=text("active IS 1"),
                            postgresql_where=text("active IS true")),
                      # The few staff among a million officers, by role: the coordinators the daily job's digests
                      # go to, the administrator's home's staff, those still to set up a second factor.
                      Index("ix_users_role", "role"))

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}"

    @property
    def is_active(self) -> bool:  # Flask-Login: inactive accounts cannot sign in
        return self.active
