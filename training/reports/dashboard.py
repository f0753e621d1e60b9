"""Compliance at a glance: counts by status, upcoming expiries and a monthly trend, all counted in the database.

The compliance rate is the share of required (officer, module) pairs holding a
valid certification, among those not exempt.
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import ColumnElement, Date, Integer, and_, case, delete, func, insert, literal, or_, select, union_all
from sqlalchemy.orm import Session

from training.catalog.models import Course
from training.clock import of_agencies
from training.db import utcnow
from training.people.models import Agency, Unit, User
from training.records.models import Assignment, Completion, Exemption
from training.records.status import course_states_query, end_of, not_revoked_by, status_expression
from training.reports.models import ComplianceSnapshot as Snap

HORIZONS = (30, 60, 90)
SHOWN = ("current", "expiring", "overdue", "lapsed", "assigned", "exempt")
TREND_MONTHS = 12


@dataclass
class Tally:
    """Pairs by status for one agency, unit or module."""

    label: str
    counts: Counter = field(default_factory=Counter)

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def share(self, status: str) -> float:
        return 100 * self.counts[status] / self.total if self.total else 0.0

    @property
    def rate(self) -> float | None:
        return compliance_rate(self.counts["current"] + self.counts["expiring"], self.total, self.counts["exempt"])


@dataclass
class Dashboard:
    # The latest day counted; each agency's statuses are counted on its own day, so some may be a day behind.
    on: date
    overall: Tally
    agencies: list[Tally]
    units: list[Tally]
    courses: list[Tally]
    expiring_within: dict[int, int]
    trend: list[tuple[date, float | None]]
    # When the daily job counted these figures.
    counted_at: datetime | None = None
    # The earliest day counted, where agencies in the scope are on different days.
    first_day: date | None = None

    @property
    def expiring_rows(self) -> list[tuple[str, int]]:
        return [(f"Within {days} days", n) for days, n in self.expiring_within.items()]


def compliance_rate(valid: int, required: int, exempt: int) -> float | None:
    counted = required - exempt
    return round(100 * valid / counted, 1) if counted else None


def dashboard(session: Session, scope: list[ColumnElement[bool]]) -> Dashboard | None:
    """The latest figures counted for the scope (conditions on ComplianceSnapshot); None before the first count.

    Each agency's statuses are those of its last count, on its own day; the trend
    runs to the month ends counted for everyone.
    """
    def days(*where):
        return session.execute(select(func.min(Snap.day), func.max(Snap.day), func.max(Snap.taken_at))
                               .where(Snap.kind == "status", *where)).one()

    taken = days(*scope)
    if taken[0] is None:
        taken = days()
        if taken[0] is None:
            return None
    first_day, last_day, taken_at = taken
    mine = [Snap.kind == "status", *scope]

    def by(column, names: dict, unnamed: str) -> list[Tally]:
        tallies: dict[str, Tally] = {}
        for key, status, n in session.execute(select(column, Snap.status, func.sum(Snap.pairs)).where(*mine)
                                              .group_by(column, Snap.status)):
            code, label = names.get(key, ("-", unnamed))
            tallies.setdefault(code, Tally(label)).counts[status] += n
        return [tallies[code] for code in sorted(tallies)]

    agencies = by(Snap.agency_id, {i: (code, code) for i, code in session.execute(select(Agency.id, Agency.code))},
                  "No agency")
    courses = by(Snap.course_id, {i: (code, title) for i, code, title in
                                  session.execute(select(Course.id, Course.code, Course.title))}, "")
    in_scope = select(Snap.unit_id).where(*mine).distinct()
    units = by(Snap.unit_id, {i: (code, f"{name} ({code})") for i, code, name in
                              session.execute(select(Unit.id, Unit.code, Unit.name).where(Unit.id.in_(in_scope)))},
               "No unit")
    overall = Tally("All", sum((t.counts for t in agencies), Counter()))
    soon = session.execute(select(func.sum(Snap.expiring_30), func.sum(Snap.expiring_60), func.sum(Snap.expiring_90))
                           .where(*mine)).one()
    ends = month_ends(first_day)
    months = {day: compliance_rate(valid - exempt_valid, required, exempt)
              for day, required, valid, exempt, exempt_valid in session.execute(
                  select(Snap.day, func.sum(Snap.pairs), func.sum(Snap.valid), func.sum(Snap.exempt),
                         func.sum(Snap.exempt_valid))
                  .where(Snap.kind == "month", Snap.day.in_(ends), *scope).group_by(Snap.day))}
    return Dashboard(last_day, overall, agencies, units, courses,
                     {days: n or 0 for days, n in zip(HORIZONS, soon)},
                     [(end, months.get(end)) for end in ends], counted_at=taken_at, first_day=first_day)


def counted_days(session: Session) -> dict[int | None, date]:
    """The day each agency's statuses were last counted on (None: officers of no agency)."""
    return dict(session.execute(select(Snap.agency_id, func.max(Snap.day)).where(Snap.kind == "status")
                                .group_by(Snap.agency_id)).all())


def refresh_snapshot(session: Session, on: date, agency_ids: Sequence[int | None] | None = None, *,
                     earliest: date | None = None) -> None:
    """Count the statuses on `on`, and each of the last twelve month ends not yet counted, into the snapshot table.

    The daily job runs this. With `agency_ids` (None among them: officers of no
    agency), only their officers' statuses are counted again, on their day `on`.
    A month end is counted for everyone at once, and only when it has passed
    everywhere: it must be before `earliest`, the earliest day any agency is on
    (default `on`). A month end, once counted, stays as it was.
    """
    session.execute(delete(Snap).where(Snap.kind == "status", *of_agencies(Snap.agency_id, agency_ids)))
    session.execute(insert(Snap).from_select(
        ["kind", "day", "agency_id", "unit_id", "course_id", "status", "pairs", "expiring_30", "expiring_60",
         "expiring_90", "taken_at"], status_counts(on, agency_ids)))
    counted = set(session.scalars(select(Snap.day).where(Snap.kind == "month").distinct()))
    missing = [end for end in month_ends(earliest or on) if end not in counted]
    if missing:
        now = utcnow()
        rows = [{"kind": "month", "day": end, "agency_id": agency_id, "unit_id": unit_id, "course_id": course_id,
                 "pairs": tally.required[i], "valid": tally.valid[i], "exempt": tally.exempt[i],
                 "exempt_valid": tally.exempt_valid[i], "taken_at": now}
                for (agency_id, unit_id, course_id), tally in trend(session, missing).items()
                for i, end in enumerate(missing) if tally.required[i]]
        if rows:
            session.execute(insert(Snap), rows)


def status_counts(on: date, agency_ids: Sequence[int | None] | None = None):
    """Rows for the snapshot: pairs by agency, unit, module and status, and expiring within 30, 60, 90 days
    (of the officers of `agency_ids`, when given)."""
    facts = course_states_query(on, *of_agencies(User.agency_id, agency_ids)).order_by(None).subquery("facts")
    status = status_expression(on, facts.c.expires_on, facts.c.due_on, facts.c.exempt_until)

    def expiring_within(days: int):
        return func.sum(case((and_(facts.c.expires_on >= on, facts.c.expires_on <= on + timedelta(days=days)), 1),
                             else_=0))

    keys = (User.agency_id, User.unit_id, facts.c.course_id, status)
    return (select(literal("status"), literal(on, Date), *keys, func.count(), *(expiring_within(d) for d in HORIZONS),
                   literal(utcnow()))
            .select_from(facts).join(User, User.id == facts.c.user_id).group_by(*keys))


def month_ends(on: date, months: int = TREND_MONTHS) -> list[date]:
    """The last day of each of the `months` whole months before `on`, oldest first."""
    ends = []
    last = on.replace(day=1) - timedelta(days=1)
    for _ in range(months):
        ends.append(last)
        last = last.replace(day=1) - timedelta(days=1)
    return ends[::-1]


@dataclass
class MonthTally:
    required: list[int]
    valid: list[int]
    exempt: list[int]
    exempt_valid: list[int]


def trend(session: Session, ends: list[date]) -> dict[tuple, MonthTally]:
    """Per (agency id, unit id, module id), the pairs at the end of each day in `ends`, rebuilt from the records.

    Set-based: each record falls in the first month end it counts for, so a few
    grouped scans give every month at once, however many officers there are.
    """
    n = len(ends)
    tallies: dict[tuple, MonthTally] = {}

    def tally(key) -> MonthTally:
        return tallies.setdefault(tuple(key), MonthTally([0] * n, [0] * n, [0] * n, [0] * n))

    def first_end(condition):
        """Index of the first month end for which `condition(end)` holds (n: none)."""
        return case(*((condition(end), i) for i, end in enumerate(ends)), else_=n)

    active, live = User.active.is_(True), Course.active.is_(True)
    # Valid certifications: a completion counts from its day until it expires or the next one replaces it.
    later = func.lead(Completion.completed_on).over(partition_by=(Completion.user_id, Completion.course_id),
                                                    order_by=(Completion.completed_on, Completion.id))
    spans = (select(Completion.user_id, Completion.course_id, Completion.completed_on.label("starts"),
                    Completion.expires_on.label("ends"), Completion.revoked_on.label("revoked"),
                    later.label("replaced"))
             .where(Completion.completed_on <= ends[-1]).subquery("spans"))
    buckets = (select(User.agency_id, User.unit_id, spans.c.course_id,
                      first_end(lambda end: spans.c.starts <= end).label("started"),
                      first_end(lambda end: or_(spans.c.ends < end, spans.c.replaced <= end,
                                                 spans.c.revoked <= end)).label("gone"))
               .join(User, and_(User.id == spans.c.user_id, active))
               .join(Course, and_(Course.id == spans.c.course_id, live)).subquery("buckets"))
    keys = (buckets.c.agency_id, buckets.c.unit_id, buckets.c.course_id)
    for *key, started, gone, count in session.execute(
            select(*keys, buckets.c.started, buckets.c.gone, func.count()).group_by(*keys, buckets.c.started,
                                                                                    buckets.c.gone)):
        for i in range(started, min(gone, n)):
            tally(key).valid[i] += count

    # Required pairs: from their first assignment, completion or exemption on.
    def firsts(model, condition):
        return select(model.user_id, model.course_id, first_end(condition).label("first"))
    records = union_all(firsts(Assignment, lambda end: Assignment.created_at < end_of(end)),
                        firsts(Completion, lambda end: Completion.completed_on <= end),
                        firsts(Exemption, lambda end: Exemption.starts_on <= end)).subquery("records")
    pairs = (select(records.c.user_id, records.c.course_id, func.min(records.c.first).label("first"))
             .group_by(records.c.user_id, records.c.course_id).subquery("pairs"))
    keys = (User.agency_id, User.unit_id, pairs.c.course_id)
    for *key, first, count in session.execute(
            select(*keys, pairs.c.first, func.count()).join(User, and_(User.id == pairs.c.user_id, active))
            .join(Course, and_(Course.id == pairs.c.course_id, live)).group_by(*keys, pairs.c.first)):
        for i in range(first, n):
            tally(key).required[i] += count

    # Exempt pairs (few), and which of them also held a valid certification.
    months = union_all(*(select(literal(i, Integer).label("i"), literal(end, Date).label("day"))
                         for i, end in enumerate(ends))).subquery("months")
    expiry = (select(Completion.expires_on)
              .where(Completion.user_id == Exemption.user_id, Completion.course_id == Exemption.course_id,
                     Completion.completed_on <= months.c.day, not_revoked_by(months.c.day))
              .order_by(Completion.completed_on.desc(), Completion.id.desc()).limit(1).scalar_subquery())
    exempt_pairs = (select(months.c.i, User.agency_id, User.unit_id, Exemption.course_id,
                           func.max(case((expiry >= months.c.day, 1), else_=0)).label("valid"))
                    .select_from(Exemption)
                    .join(months, and_(Exemption.starts_on <= months.c.day, Exemption.ends_on >= months.c.day))
                    .join(User, and_(User.id == Exemption.user_id, active))
                    .join(Course, and_(Course.id == Exemption.course_id, live))
                    .group_by(months.c.i, User.agency_id, User.unit_id, Exemption.user_id, Exemption.course_id)
                    .subquery("exempt_pairs"))
    keys = (exempt_pairs.c.agency_id, exempt_pairs.c.unit_id, exempt_pairs.c.course_id)
    for i, *key, count, also_valid in session.execute(
            select(exempt_pairs.c.i, *keys, func.count(), func.sum(exempt_pairs.c.valid))
            .group_by(exempt_pairs.c.i, *keys)):
        tally(key).exempt[i] += count
        tally(key).exempt_valid[i] += also_valid or 0
    return tallies
