"""The compliance dashboard's monthly trend, counted by the daily job once per month end."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from training.db import Base, utcnow


class ComplianceSnapshot(Base):
    """Pairs of (officer, module) of one agency, unit and module at the month end `day` (kind "month"): the
    required pairs, the valid ones, the exempt ones and the exempt ones also valid. The statuses of today are
    counted from the records at each request instead (training/reports/dashboard.py)."""

    __tablename__ = "compliance_snapshots"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(8))
    day: Mapped[date]
    agency_id: Mapped[int | None] = mapped_column(ForeignKey("agencies.id"))
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id"))
    pairs: Mapped[int] = mapped_column(default=0)
    valid: Mapped[int] = mapped_column(default=0)
    exempt: Mapped[int] = mapped_column(default=0)
    exempt_valid: Mapped[int] = mapped_column(default=0)
    taken_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (Index("ix_compliance_snapshots_scope", "kind", "day", "agency_id", "unit_id"),)
