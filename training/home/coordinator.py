"""A coordinator's home: what needs attention in their scope, each figure the way into the list that acts on it."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session

from training.access import STAFF, scope_filter
from training.assignments.requests import waiting_count
from training.auth.tokens import never_signed_in
from training.home.figures import officers_by_unit_and_status
from training.imports.models import ImportRefusal
from training.imports.refusals import not_since_imported
from training.people.models import Unit, User
from training.records.models import Assignment, Completion, Exemption
from training.reminders.models import OutboxMessage

NEWCOMER_DAYS = 30      # an officer added this recently with nothing required of them is a newcomer to assign
LISTED = 5              # people shown by name under a figure; the figure counts them all
UNITS_LISTED = 10       # units shown, those with the most overdue first
REFUSALS_WITHIN = timedelta(days=14)   # refused uploads shown, unless the uploader has imported one since


@dataclass
class UnitRow:
    """One unit's figures: officers placed directly in it."""

    code: str
    name: str
    counts: Counter = field(default_factory=Counter)   # overdue, expiring, never_signed_in

    @property
    def order(self) -> tuple:
        return (-self.counts["overdue"], -self.counts["expiring"], -self.counts["never_signed_in"], self.name)


@dataclass
class Person:
    user_id: int
    name: str
    employee_id: str | None
    unit_code: str | None
    at: datetime | None = None
    note: str | None = None


@dataclass
class Refusal:
    kind: str
    filename: str
    problems: int
    at: datetime
    by: str


@dataclass
class CoordinatorHome:
    today: date
    totals: Counter                       # officers overdue, expiring; accounts never signed in
    units: list[UnitRow]                  # the first UNITS_LISTED units with anything to do
    more_units: int
    requests_waiting: int
    newcomers: list[Person]
    newcomers_total: int
    undelivered: list[Person]             # the recipients of messages that could not be delivered
    undelivered_total: int
    refusals: list[Refusal]
    refusals_total: int


def coordinator_home(session: Session, viewer: User, today: date, now: datetime) -> CoordinatorHome:
    scope = scope_filter(session, viewer)
    by_unit = officers_by_unit_and_status(session, viewer, today)
    for unit_code, n in session.execute(
            select(Unit.code, func.count()).select_from(User).outerjoin(Unit, Unit.id == User.unit_id)
            .where(User.active.is_(True), never_signed_in(), *scope).group_by(Unit.code)):
        by_unit.setdefault(unit_code, Counter())["never_signed_in"] = n
    totals = sum(by_unit.values(), Counter())
    names = _unit_names(session, viewer)
    units = sorted((UnitRow(code, names[code], counts) for code, counts in by_unit.items() if code),
                   key=lambda row: row.order)
    newcomers, newcomers_total = _newcomers(session, scope, now)
    undelivered, undelivered_total = _undelivered(session, scope)
    refusals, refusals_total = _refusals(session, viewer, now)
    return CoordinatorHome(today, totals, units[:UNITS_LISTED], max(0, len(units) - UNITS_LISTED),
                           waiting_count(session, viewer, now), newcomers, newcomers_total,
                           undelivered, undelivered_total, refusals, refusals_total)


def _unit_names(session: Session, viewer: User) -> dict[str, str]:
    """The names of the units of the viewer's scope, by code: read whole, as a large agency's thousands of codes
    as parameters of one statement cost more to send than its units to read. Officers are placed in units of
    their own agency (training/admin/service.py), so every unit counted is among them."""
    return dict(session.execute(select(Unit.code, Unit.name).where(
        *scope_filter(session, viewer, agency_id=Unit.agency_id, unit_id=Unit.id, user_id=None))).all())


def _newcomers(session: Session, scope, now: datetime) -> tuple[list[Person], int]:
    """Officers added in the last NEWCOMER_DAYS days of whom nothing is required yet: no assignment, completion
    or exemption."""
    conditions = [User.active.is_(True), User.role.not_in(STAFF),
                  User.created_at >= now - timedelta(days=NEWCOMER_DAYS),
                  ~exists().where(Assignment.user_id == User.id), ~exists().where(Completion.user_id == User.id),
                  ~exists().where(Exemption.user_id == User.id), *scope]
    total = session.scalar(select(func.count()).select_from(User).where(*conditions)) or 0
    rows = session.execute(select(User.id, User.first_name, User.last_name, User.employee_id, Unit.code,
                                  User.created_at)
                           .outerjoin(Unit, Unit.id == User.unit_id).where(*conditions)
                           .order_by(User.created_at.desc(), User.id.desc()).limit(LISTED)).all() if total else []
    return [Person(i, f"{last}, {first}", employee_id, unit, at)
            for i, first, last, employee_id, unit, at in rows], total


def _undelivered(session: Session, scope) -> tuple[list[Person], int]:
    """Messages to people in scope that the mail server refused every time (an administrator retries them)."""
    conditions = [OutboxMessage.status == "failed", *scope]
    total = session.scalar(select(func.count()).select_from(OutboxMessage)
                           .join(User, User.id == OutboxMessage.user_id).where(*conditions)) or 0
    rows = session.execute(select(User.id, User.first_name, User.last_name, User.employee_id, Unit.code,
                                  OutboxMessage.created_at, OutboxMessage.last_error)
                           .select_from(OutboxMessage).join(User, User.id == OutboxMessage.user_id)
                           .outerjoin(Unit, Unit.id == User.unit_id).where(*conditions)
                           .order_by(OutboxMessage.id.desc()).limit(LISTED)).all() if total else []
    return [Person(i, f"{last}, {first}", employee_id, unit, at, error)
            for i, first, last, employee_id, unit, at, error in rows], total


def _refusals(session: Session, viewer: User, now: datetime) -> tuple[list[Refusal], int]:
    """Uploads refused in the viewer's scope lately, of which no corrected file has been imported since."""
    conditions = [ImportRefusal.at >= now - REFUSALS_WITHIN, not_since_imported(),
                  *scope_filter(session, viewer, agency_id=ImportRefusal.agency_id, unit_id=ImportRefusal.unit_id,
                                user_id=ImportRefusal.actor_id)]
    total = session.scalar(select(func.count()).select_from(ImportRefusal).where(*conditions)) or 0
    rows = session.execute(select(ImportRefusal.kind, ImportRefusal.filename, ImportRefusal.problems, ImportRefusal.at,
                                  User.first_name, User.last_name)
                           .outerjoin(User, User.id == ImportRefusal.actor_id).where(*conditions)
                           .order_by(ImportRefusal.at.desc(), ImportRefusal.id.desc()).limit(LISTED)).all() \
        if total else []
    return [Refusal(kind, filename, problems, at, f"{first} {last}" if first else "someone no longer here")
            for kind, filename, problems, at, first, last in rows], total
