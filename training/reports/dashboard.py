"""Compliance at a glance: counts by status, upcoming expiries and a monthly trend, all counted in the database.

The compliance rate is the share of required (officer, module) pairs holding a
valid certification, among those not exempt.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy import ColumnElement, Date, Integer, and_, case, func, literal, or_, select, union_all
from sqlalchemy.orm import Session

from training.assignments.models import Assignment, Exemption
from training.catalog.models import Course
from training.certification.models import Completion
from training.certification.status import course_states_query, end_of, status_expression
from training.people.models import Unit, User

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
    on: date
    overall: Tally
    agencies: list[Tally]
    units: list[Tally]
    courses: list[Tally]
    expiring_within: dict[int, int]
    trend: list[tuple[date, float | None]]

    @property
    def expiring_rows(self) -> list[tuple[str, int]]:
        return [(f"Within {days} days", n) for days, n in self.expiring_within.items()]


def compliance_rate(valid: int, required: int, exempt: int) -> float | None:
    counted = required - exempt
    return round(100 * valid / counted, 1) if counted else None


def dashboard(session: Session, on: date, where: list[ColumnElement[bool]]) -> Dashboard:
    overall = Tally("All")
    agencies: dict[str, Tally] = {}
    units: dict[str, Tally] = {}
    courses: dict[str, Tally] = {}
    within = Counter()
    for agency, unit, code, title, status, n, *soon in session.execute(status_counts(on, where)):
        overall.counts[status] += n
        agencies.setdefault(agency or "-", Tally(agency or "No agency")).counts[status] += n
        units.setdefault(unit or "-", Tally(unit or "No unit")).counts[status] += n
        courses.setdefault(code, Tally(title)).counts[status] += n
        for days, count in zip(HORIZONS, soon):
            within[days] += count or 0
    names = dict(session.execute(select(Unit.code, Unit.name).where(Unit.code.in_(list(units)))).all())
    for code, tally in units.items():
        tally.label = f"{names[code]} ({code})" if code in names else tally.label
    return Dashboard(on, overall, [agencies[k] for k in sorted(agencies)], [units[k] for k in sorted(units)],
                     [courses[k] for k in sorted(courses)], {d: within[d] for d in HORIZONS},
                     trend(session, month_ends(on), where))


def status_counts(on: date, where: list[ColumnElement[bool]]):
    """(agency, unit, course code, title, status, pairs, expiring within 30, 60, 90 days), grouped in SQL."""
    facts = course_states_query(on, *where).order_by(None).subquery("facts")
    status = status_expression(on, facts.c.expires_on, facts.c.due_on, facts.c.exempt_until)

    def expiring_within(days: int):
        return func.sum(case((and_(facts.c.expires_on >= on, facts.c.expires_on <= on + timedelta(days=days)), 1),
                             else_=0))

    keys = (facts.c.agency_code, facts.c.unit_code, facts.c.course_code, facts.c.course_title, status)
    return select(*keys, func.count(), *(expiring_within(d) for d in HORIZONS)).group_by(*keys)


def month_ends(on: date, months: int = TREND_MONTHS) -> list[date]:
    """The last day of each of the `months` whole months before `on`, oldest first."""
    ends = []
    last = on.replace(day=1) - timedelta(days=1)
    for _ in range(months):
        ends.append(last)
        last = last.replace(day=1) - timedelta(days=1)
    return ends[::-1]


def trend(session: Session, ends: list[date], where: list[ColumnElement[bool]]) -> list[tuple[date, float | None]]:
    """The compliance rate at the end of each day in `ends`, rebuilt from the records.

    Set-based: each record falls in the first month end it counts for, so three
    grouped scans give every month at once, however many officers there are.
    """
    people = select(User.id).where(User.active.is_(True), *where)
    live = select(Course.id).where(Course.active.is_(True))
    n = len(ends)

    def first_end(condition):
        """Index of the first month end for which `condition(end)` holds (n: none)."""
        return case(*((condition(end), i) for i, end in enumerate(ends)), else_=n)

    # Valid certifications: a completion counts from its day until it expires or the next one replaces it.
    later = func.lead(Completion.completed_on).over(partition_by=(Completion.user_id, Completion.course_id),
                                                    order_by=(Completion.completed_on, Completion.id))
    spans = select(Completion.completed_on.label("starts"), Completion.expires_on.label("ends"),
                   later.label("replaced")).where(Completion.user_id.in_(people), Completion.course_id.in_(live),
                                                  Completion.completed_on <= ends[-1]).subquery("spans")
    buckets = select(first_end(lambda end: spans.c.starts <= end).label("started"),
                     first_end(lambda end: or_(spans.c.ends < end, spans.c.replaced <= end)).label("gone")
                     ).subquery("buckets")
    valid = [0] * n
    for s, g, count in session.execute(select(buckets.c.started, buckets.c.gone, func.count())
                                       .group_by(buckets.c.started, buckets.c.gone)):
        for i in range(s, min(g, n)):
            valid[i] += count

    # Required pairs: from their first assignment, completion or exemption on.
    def firsts(model, condition):
        return select(model.user_id, model.course_id, first_end(condition).label("first")).where(
            model.user_id.in_(people), model.course_id.in_(live))
    records = union_all(firsts(Assignment, lambda end: Assignment.created_at < end_of(end)),
                        firsts(Completion, lambda end: Completion.completed_on <= end),
                        firsts(Exemption, lambda end: Exemption.starts_on <= end)).subquery("records")
    pairs = select(func.min(records.c.first).label("first")).group_by(records.c.user_id,
                                                                         records.c.course_id).subquery("pairs")
    required = [0] * n
    for first, count in session.execute(select(pairs.c.first, func.count()).group_by(pairs.c.first)):
        for i in range(first, n):
            required[i] += count

    # Exempt pairs (few), and which of them also held a valid certification.
    months = union_all(*(select(literal(i, Integer).label("i"), literal(end, Date).label("day"))
                         for i, end in enumerate(ends))).subquery("months")
    expiry = (select(Completion.expires_on)
              .where(Completion.user_id == Exemption.user_id, Completion.course_id == Exemption.course_id,
                     Completion.completed_on <= months.c.day)
              .order_by(Completion.completed_on.desc(), Completion.id.desc()).limit(1).scalar_subquery())
    exempt_pairs = (select(months.c.i, func.max(case((expiry >= months.c.day, 1), else_=0)).label("valid"))
                    .select_from(Exemption)
                    .join(months, and_(Exemption.starts_on <= months.c.day, Exemption.ends_on >= months.c.day))
                    .where(Exemption.user_id.in_(people), Exemption.course_id.in_(live))
                    .group_by(months.c.i, Exemption.user_id, Exemption.course_id).subquery("exempt_pairs"))
    exempt, exempt_valid = [0] * n, [0] * n
    for i, count, also_valid in session.execute(
            select(exempt_pairs.c.i, func.count(), func.sum(exempt_pairs.c.valid)).group_by(exempt_pairs.c.i)):
        exempt[i], exempt_valid[i] = count, also_valid or 0
    return [(end, compliance_rate(valid[i] - exempt_valid[i], required[i], exempt[i])) for i, end in enumerate(ends)]

