"""Counts every home page shares: officers by status (in a scope, a team, by unit), and one's own training.

All counted in the database: a home page costs the same few statements for ten officers or thirty thousand.
"""
from __future__ import annotations

import functools
from collections import Counter
from dataclasses import dataclass
from datetime import date

from sqlalchemy import ColumnElement, Integer, Select, bindparam, cast, func, select
from sqlalchemy.orm import Session

from training.access import SCOPED, agencies_in_scope, may_see_place, scope_filter, supervises
from training.clock import LocalDay, server_zone_name
from training.people.models import Unit, User
from training.records.status import officer_course_states
from training.reports.tallies import OFFICERS, counted, officers_counted


def officers_by_unit_and_status(session: Session, viewer: User, on: date) -> dict[str | None, Counter]:
    """How many officers in the viewer's scope have at least one required module in each status of
    tallies.ATTENTION (overdue, expiring) on `on`, for each unit code (officers placed directly in the unit;
    None: no unit): the tally job's counts of the cells no write has touched since it ran, the rest counted from
    the records (training/reports/tallies.py), so the figures are those of the records now."""
    day = LocalDay(on, tuple((a.id, a.code, a.time_zone) for a in agencies_in_scope(session, viewer)),
                   server_zone_name() if may_see_place(session, viewer, None, None) else None)

    def cells(agency_id, unit_id) -> list[ColumnElement[bool]]:
        return scope_filter(session, viewer, agency_id=agency_id, unit_id=unit_id, user_id=None)

    rows = counted(session, day, scope_filter(session, viewer), cells, OFFICERS).subquery("rows")
    units: dict[str | None, Counter] = {}
    for unit_code, status, n in session.execute(
            select(Unit.code, rows.c.status, func.sum(rows.c.officers)).select_from(rows)
            .outerjoin(Unit, Unit.id == rows.c.unit_id).group_by(Unit.code, rows.c.status)):
        units.setdefault(unit_code, Counter())[status] = int(n)
    return units


def _by_status_query(on: date, where) -> Select:
    """Officers matching `where` with at least one required module in each status of ATTENTION on `on`, counted
    by status: the cells' counts of `officers_counted` added up, as an officer is in one cell."""
    rows = officers_counted(on, *where).subquery("rows")
    return select(rows.c.status, cast(func.sum(rows.c.officers), Integer)).group_by(rows.c.status)


@functools.lru_cache(maxsize=16)
def _team_query(on: date) -> Select:
    """`team_of`'s count of officers by status on `on`, the supervisor a parameter: built once for each day (the
    agencies' days differ), where every supervisor's home would build it again on every request."""
    return _by_status_query(on, _reports(bindparam("supervisor_id", type_=Integer())))


def _reports(supervisor_id) -> list[ColumnElement[bool]]:
    """A supervisor's direct reports: the active officers who report to them."""
    return [User.supervisor_id == supervisor_id, User.active.is_(True)]


@dataclass
class OwnTraining:
    """The signed-in person's own required modules, by status."""

    counts: Counter

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def own_training(session: Session, user: User, on: date) -> OwnTraining:
    return OwnTraining(Counter(state.status for state in officer_course_states(session, on, user.id)
                               if state.status))


@dataclass
class Team:
    """A supervisor's direct reports: how many, and how many overdue or expiring."""

    officers: int
    counts: Counter


def team_of(session: Session, supervisor: User, on: date) -> Team | None:
    """The supervisor's team on `on`; None for someone with no direct reports."""
    if not supervises(session, supervisor):
        return None
    officers = session.scalar(select(func.count()).select_from(User).where(*_reports(supervisor.id))) or 0
    if not officers:
        return None
    return Team(officers, Counter(dict(session.execute(_team_query(on), {"supervisor_id": supervisor.id}).all())))


@dataclass
class Scope:
    """The viewer's scope in words, and the unit whose page lists everyone in it, when one does."""

    name: str
    unit: Unit | None = None


def scope_of(session: Session, viewer: User) -> Scope:
    """'East Team 1 (DEMO-EAST-1) and its sub-units', an agency (with its top unit, when it has one), or every
    agency."""
    if viewer.scope_unit_id is not None:
        unit = session.get(Unit, viewer.scope_unit_id)
        return Scope(f"{unit.name} ({unit.code}) and its sub-units", unit) if unit else Scope("no unit")
    if viewer.role in SCOPED and viewer.agency is not None:
        tops = session.scalars(select(Unit).where(Unit.agency_id == viewer.agency_id, Unit.parent_id.is_(None))
                               .limit(2)).all()
        return Scope(f"{viewer.agency.name} ({viewer.agency.code})", tops[0] if len(tops) == 1 else None)
    return Scope("every agency")
