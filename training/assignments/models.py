"""Assignments of a course to an officer, and exemptions from one."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from training.catalog.models import Course
from training.db import Base, utcnow

REASONS = ("individual", "unit", "agency", "standing_rule", "annual_renewal", "new_hire", "demo")


class Assignment(Base):
    __tablename__ = "assignments"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id"))
    due_on: Mapped[date]
    reason: Mapped[str] = mapped_column(String(32))
    assigned_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    closed_at: Mapped[datetime | None]
    completion_id: Mapped[int | None] = mapped_column(ForeignKey("completions.id"))

    course: Mapped[Course] = relationship()

    __table_args__ = (
        # At most one open assignment per officer and course.
        Index(
            "uq_assignments_open",
            "user_id",
            "course_id",
            unique=True,
            sqlite_where=text("closed_at IS NULL"),
            postgresql_where=text("closed_at IS NULL"),
        ),
        Index("ix_assignments_user_course", "user_id", "course_id"),
    )


class Exemption(Base):
    __tablename__ = "exemptions"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id"))
    starts_on: Mapped[date]
    ends_on: Mapped[date]
    reason: Mapped[str] = mapped_column(Text)
    granted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class StandingRule(Base):
    """Everyone in a unit (and below) must hold a course."""

    __tablename__ = "standing_rules"
    __table_args__ = (UniqueConstraint("unit_id", "course_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id"))
    # An officer who joins the unit later is due this many days after the rule reaches them.
    days_to_complete: Mapped[int] = mapped_column(default=30)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
