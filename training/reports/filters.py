"""Roster filters: checked once, against the viewer's scope, for the site and the CLI alike."""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from datetime import date

from sqlalchemy import ColumnElement, Select, select
from sqlalchemy.orm import Session

from training.access import ADMINS, may_see_agency, may_see_unit, scope_filter
from training.catalog.models import Course
from training.people.models import Agency, Unit, User
from training.people.service import subtree_ids
from training.records.rules import STATUSES
from training.records.status import course_states_query, status_expression


class FilterError(ValueError):
    """A filter value that names nothing or contradicts another; `field` says which."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


class OutOfScope(PermissionError):
    """A filter that reaches outside what the viewer may see."""


@dataclass(frozen=True)
class RosterFilters:
    agency: str | None = None
    unit: str | None = None
    course: str | None = None
    status: str | None = None
    completed_from: date | None = None
    completed_to: date | None = None
    expiring_before: date | None = None
    as_of: date | None = None

    def used(self) -> dict[str, str]:
        """The filters given, as text, for the audit trail and the Filters sheet."""
        return {k: v.isoformat() if isinstance(v, date) else v for k, v in asdict(self).items() if v}


@dataclass(frozen=True)
class Roster:
    """A checked request for a roster: what to select and on which day."""

    filters: RosterFilters
    on: date
    as_of: bool
    officers: tuple[ColumnElement[bool], ...]   # conditions on users: the viewer's scope, the agency, the unit
    course_id: int | None
    agency: Agency | None
    unit: Unit | None

    @property
    def statement(self) -> Select:
        return self.narrowed()

    def narrowed(self, *officers: ColumnElement[bool]) -> Select:
        """The roster query over the officers matching `officers` as well (see `officer_slices`)."""
        stmt = course_states_query(self.on, *self.officers, *officers, as_of=self.as_of)
        cols, filters, on = stmt.selected_columns, self.filters, self.on
        if self.course_id is not None:
            stmt = stmt.where(cols.course_id == self.course_id)
        if filters.status:
            stmt = stmt.where(status_expression(on, cols.expires_on, cols.due_on, cols.exempt_until) == filters.status)
        if filters.completed_from:
            stmt = stmt.where(cols.completed_on >= filters.completed_from)
        if filters.completed_to:
            stmt = stmt.where(cols.completed_on <= filters.completed_to)
        if filters.expiring_before:
            stmt = stmt.where(cols.expires_on < filters.expiring_before)
        return stmt

    def file_name(self, extension: str) -> str:
        parts = ["roster"]
        if self.agency is not None:
            parts.append(self.agency.code)
        if self.unit is not None:
            parts.append(self.unit.code)
        if self.filters.course:
            parts.append(self.filters.course)
        if self.filters.status:
            parts.append(self.filters.status)
        parts.append(self.on.isoformat())
        return file_name(parts, extension)


def file_name(parts: list[str], extension: str) -> str:
    """A download's name from its parts (codes and days), with nothing a file system or header would mind."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", "-".join(parts)) + "." + extension


def build_roster(session: Session, viewer: User | None, filters: RosterFilters, today: date) -> Roster:
    """Check `filters` and build the roster query, always inside the viewer's scope.

    `viewer` None is the operator at the command line, who sees everything.
    Raises FilterError for a value that names nothing, OutOfScope for a place
    the viewer may not see.
    """
    if filters.as_of is not None and filters.as_of > today:
        raise FilterError("as_of", f"the as-of date {filters.as_of.isoformat()} is in the future")
    if filters.completed_from and filters.completed_to and filters.completed_from > filters.completed_to:
        raise FilterError("completed_to", "the 'completed to' date is before the 'completed from' date")
    if filters.status and filters.status not in STATUSES:
        raise FilterError("status", f"unknown status '{filters.status}'; one of {', '.join(STATUSES)}")
    where: list[ColumnElement[bool]] = scope_filter(session, viewer) if viewer is not None else []
    agency = unit = None
    if filters.agency:
        agency = session.scalar(select(Agency).where(Agency.code == filters.agency))
        if agency is None:
            raise FilterError("agency", f"no agency with the code '{filters.agency}'")
        if not may_see_agency(session, viewer, agency):
            raise OutOfScope(f"agency {agency.code} is outside your scope")
        where.append(User.agency_id == agency.id)
    if filters.unit:
        unit = session.scalar(select(Unit).where(Unit.code == filters.unit))
        if unit is None:
            raise FilterError("unit", f"no unit with the code '{filters.unit}'")
        if not may_see_unit(session, viewer, unit):
            raise OutOfScope(f"unit {unit.code} is outside your scope")
        if agency is not None and unit.agency_id != agency.id:
            raise FilterError("unit", f"unit {unit.code} is not in agency {agency.code}")
        where.append(User.unit_id.in_(subtree_ids(session, unit)))
        agency = agency or unit.agency
    course_id = None
    if filters.course:
        course_id = session.scalar(select(Course.id).where(Course.code == filters.course, Course.active.is_(True)))
        if course_id is None:
            raise FilterError("course", f"no active course with the code '{filters.course}'")
    on = filters.as_of or today
    if agency is None and unit is None:
        agency, unit = home_place(session, viewer)
    return Roster(filters, on, on < today, tuple(where), course_id, agency, unit)


def home_place(session: Session, viewer: User | None) -> tuple[Agency | None, Unit | None]:
    """Where an export of the viewer's whole scope belongs: their agency and scope unit (nowhere in particular
    for administrators and the operator at the command line)."""
    if viewer is None or viewer.role in ADMINS:
        return None, None
    return viewer.agency, session.get(Unit, viewer.scope_unit_id) if viewer.scope_unit_id else None
