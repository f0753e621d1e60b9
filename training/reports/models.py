"""The compliance dashboard's monthly trend, counted by the daily job once per month end."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from training.db import Base, utcnow


class ComplianceSnapshot(Base):
    """Pairs of (officer, module) of one agency, unit and module at the month end `day` (kind "month"; kind
    "agency": of one agency and module, summed over its units, unit_id None): the
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


class StatusTally(Base):
    """Required (officer, module) pairs of one agency, unit (officers placed directly in it), module, status on
    `day` and version signed, counted ahead by the tally job so that the dashboard of a large agency reads one
    row per group instead of one per pair (training/reports/tallies.py). Only a day listed in TallyDay for the
    agency is complete; a cell (agency, unit) with a TallyMark is counted from the records instead."""

    __tablename__ = "status_tallies"

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date]
    agency_id: Mapped[int | None] = mapped_column(ForeignKey("agencies.id"))
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id"))
    status: Mapped[str] = mapped_column(String(16))
    acknowledged_version: Mapped[int | None]
    pairs: Mapped[int]
    within_30: Mapped[int]
    within_60: Mapped[int]
    within_90: Mapped[int]

    __table_args__ = (Index("ix_status_tallies_cell", "day", "agency_id", "unit_id"),)


class UnitTally(Base):
    """StatusTally summed over the modules: pairs of one cell and status on `day`, for the dashboard's figures by
    unit and by agency."""

    __tablename__ = "unit_tallies"

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date]
    agency_id: Mapped[int | None] = mapped_column(ForeignKey("agencies.id"))
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    status: Mapped[str] = mapped_column(String(16))
    pairs: Mapped[int]
    within_30: Mapped[int]
    within_60: Mapped[int]
    within_90: Mapped[int]

    __table_args__ = (Index("ix_unit_tallies_cell", "day", "agency_id", "unit_id"),)


class OfficerTally(Base):
    """Officers of one cell (agency, unit) with at least one required module in `status` on `day`, for the
    statuses a coordinator's home counts (tallies.ATTENTION): counted ahead by the tally job with StatusTally, and
    read as it is, for the cells not marked."""

    __tablename__ = "officer_tallies"

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date]
    agency_id: Mapped[int | None] = mapped_column(ForeignKey("agencies.id"))
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    status: Mapped[str] = mapped_column(String(16))
    officers: Mapped[int]

    __table_args__ = (Index("ix_officer_tallies_cell", "day", "agency_id", "unit_id"),)


class AgencyTally(Base):
    """StatusTally summed over the cells of an agency: pairs of one module, status and version signed on `day`,
    for the dashboard's figures by module."""

    __tablename__ = "agency_tallies"

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date]
    agency_id: Mapped[int | None] = mapped_column(ForeignKey("agencies.id"))
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id"))
    status: Mapped[str] = mapped_column(String(16))
    acknowledged_version: Mapped[int | None]
    pairs: Mapped[int]

    __table_args__ = (Index("ix_agency_tallies_day", "day", "agency_id"),)


class TallyDay(Base):
    """The tallies of every cell of an agency (0: officers of no agency) on `day` are complete."""

    __tablename__ = "tally_days"

    day: Mapped[date] = mapped_column(primary_key=True)
    agency_key: Mapped[int] = mapped_column(primary_key=True)
    counted_at: Mapped[datetime] = mapped_column(default=utcnow)


class TallyMark(Base):
    """A write since the tallies were counted touched the records of officers of this cell: the agency and unit
    they are placed in, 0 for none. Database triggers add marks in the same transaction as the write; the tally
    job counts the cell again and removes the marks it read."""

    __tablename__ = "tally_marks"

    id: Mapped[int] = mapped_column(primary_key=True)
    agency_key: Mapped[int]
    unit_key: Mapped[int]

    __table_args__ = (Index("ix_tally_marks_cell", "unit_key", "agency_key"),)
