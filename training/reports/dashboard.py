"""Compliance at a glance: the statuses now and upcoming expiries, counted from the records at each request,
and a monthly trend the daily job counts once per month end.

The statuses are the roster export's, row for row: the same pairs, facts and
rule (training/records/status.py) over the same officers, each agency on its
own calendar day, so the dashboard and an export made at the same moment agree.
The facts come from the pairs table the database keeps current as records are
written, so a count reads one narrow row per pair.
The compliance rate is the share of required (officer, module) pairs holding a
valid certification, among those not exempt; a module's share on the current
version, the share of those pairs whose officer signed the version in force
(training/reports/versions.py) or a later one.
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import NamedTuple

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Date,
    Integer,
    Select,
    and_,
    case,
    cast,
    func,
    insert,
    literal,
    or_,
    select,
    union_all,
)
from sqlalchemy.orm import Session

from training.access import SCOPED, may_see_place, scope_filter
from training.catalog.models import Course
from training.clock import LocalDay, agency_today, server_today, server_zone_name
from training.db import utcnow
from training.people.models import Agency, Unit, User
from training.records.models import Assignment, Completion, Exemption
from training.records.rules import STATUSES
from training.records.status import end_of, not_revoked_by
from training.reports.models import ComplianceSnapshot as Snap
from training.reports.tallies import HORIZONS, Cells, counted, figures
from training.updates.versions import signed_required, version_book

SHOWN = ("current", "expiring", "overdue", "lapsed", "assigned", "exempt")
TREND_MONTHS = 12
# The most units the page lists; an agency of thousands of units lists those with the lowest compliance rate.
UNITS_SHOWN = 100


@dataclass
class Tally:
    """Pairs by status for one agency, unit or module."""

    label: str
    counts: Counter = field(default_factory=Counter)
    # Of the pairs not exempt, those whose officer signed the version in force or a later one; and, for a module,
    # the version in force.
    on_current: int = 0
    version: str | None = None

    @property
    def current_share(self) -> float | None:
        """The share of the officers not exempt who are on the version in force, in percent."""
        counted = self.total - self.counts["exempt"]
        return round(100 * self.on_current / counted, 1) if counted else None

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
    # The calendar day the statuses are on, with whose day it is: each agency's own, now.
    days: list[LocalDay]
    overall: Tally
    agencies: list[Tally]
    units: list[Tally]
    courses: list[Tally]
    expiring_within: dict[int, int]
    # The month ends the daily job has counted, with the rate of the scope (None: nothing required).
    trend: list[tuple[date, float | None]]

    @property
    def as_of(self) -> str:
        """'2026-11-27', or each day and whose it is: '2026-11-26 for OIG; 2026-11-27 for CBP, ICE and officers
        of no agency'."""
        if len(self.days) == 1:
            return self.days[0].on.isoformat()
        return "; ".join(f"{day.on.isoformat()} for {whose(day)}" for day in self.days)

    @property
    def current_shares(self) -> list[tuple[str, float | None]]:
        """Each module and the share of its officers on the version in force."""
        return [(t.label, t.current_share) for t in self.courses]

    @property
    def units_shown(self) -> list[Tally]:
        """The units the page lists: all, by code, up to UNITS_SHOWN; beyond that the UNITS_SHOWN with the lowest
        compliance rate (those with nothing required last), lowest first: the CSV has every unit."""
        if len(self.units) <= UNITS_SHOWN:
            return self.units

        def lowest_first(tally: Tally) -> tuple:
            rate = tally.rate
            return rate is None, rate or 0.0, tally.label
        return sorted(self.units, key=lowest_first)[:UNITS_SHOWN]

    @property
    def expiring_rows(self) -> list[tuple[str, int]]:
        return [(f"Within {days} days", n) for days, n in self.expiring_within.items()]


def whose(day: LocalDay) -> str:
    """'CBP, ICE and officers of no agency': whose calendar day `day` is."""
    names = [code for _, code, _ in day.agencies] + (["officers of no agency"] if day.server else [])
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


def compliance_rate(valid: int, required: int, exempt: int) -> float | None:
    counted = required - exempt
    return round(100 * valid / counted, 1) if counted else None


@dataclass(frozen=True)
class Scope:
    """Whose figures: conditions on User (the roster's scope), on the trend's rows, and the days they are on."""

    people: list[ColumnElement[bool]]
    months: list[ColumnElement[bool]]
    days: list[LocalDay]
    agency: Agency | None = None    # the one chosen, if any
    # The same conditions on the tallies' agency and unit columns (training/reports/tallies.py); None: the scope
    # is not made of whole units or agencies, and is counted from the records.
    cells: Cells = None
    # Whether the scope is made of whole agencies (not a unit subtree).
    whole_agencies: bool = True


def scope_of(session: Session, viewer: User, agencies: Sequence[Agency], chosen: Agency | None = None,
             now: datetime | None = None) -> Scope:
    """The viewer's scope, narrowed to the `chosen` agency; `agencies` are those the viewer may see.

    Each agency's statuses are on its own calendar day now; officers of no agency,
    for those who may see them, on the server's.
    """
    def cells(agency_id, unit_id) -> list[ColumnElement[bool]]:
        """The scope's conditions on rows about an agency and a unit, not about one person."""
        return [*scope_filter(session, viewer, agency_id=agency_id, unit_id=unit_id, user_id=None),
                *([agency_id == chosen.id] if chosen is not None else [])]

    people = scope_filter(session, viewer) + ([User.agency_id == chosen.id] if chosen is not None else [])
    months = cells(Snap.agency_id, Snap.unit_id)
    grouped: dict[date, list[tuple[int, str, str]]] = {}
    for agency in [chosen] if chosen is not None else agencies:
        grouped.setdefault(agency_today(agency, now), []).append((agency.id, agency.code, agency.time_zone))
    server_day = None
    if chosen is None and may_see_place(session, viewer, None, None):
        server_day = server_today(now)
        grouped.setdefault(server_day, [])
    days = [LocalDay(on, tuple(entries), server_zone_name(now) if on == server_day else None)
            for on, entries in sorted(grouped.items())]
    staff = viewer.role == "admin" or viewer.role in SCOPED
    return Scope(people, months, days, chosen, cells if staff else None,
                 whole_agencies=not (viewer.role in SCOPED and viewer.scope_unit_id is not None))


class StatusCount(NamedTuple):
    """Required (officer, module) pairs of one agency, unit (officers placed directly in it), module and status."""

    agency: str | None
    unit: str | None
    course: str
    status: str
    pairs: int
    # Of them, certifications expiring within each of HORIZONS days.
    expiring: tuple[int, ...]


def status_counts(session: Session, scope: Scope) -> list[StatusCount]:
    """The roster export's rows of the scope, counted in the database: by agency, unit, module and status.

    The same pairs, facts and rule as the roster (`pair_facts_query` reads the facts the roster's
    `course_states_query` finds, kept current by triggers; `status_expression`), counted once per calendar day
    among the agencies, from the tallies where they hold (training/reports/tallies.py). Rows without a status
    (nothing makes the module required now, such as a withdrawn assignment) are left out. Ordered by agency,
    unit, module and status.
    """
    order = {status: i for i, status in enumerate(STATUSES)}
    counts = []
    for day in scope.days:
        rows = counted(session, day, scope.people, scope.cells).subquery("rows")
        keys = (rows.c.agency_id, rows.c.unit_id, rows.c.course_id, rows.c.status)
        grouped = select(*keys, func.sum(rows.c.pairs).label("pairs"),
                         *(func.sum(rows.c[f"within_{days}"]).label(f"within_{days}") for days in HORIZONS)
                         ).group_by(*keys).subquery("grouped")
        named = (select(Agency.code, Unit.code, Course.code, grouped.c.status, grouped.c.pairs,
                        *(grouped.c[f"within_{days}"] for days in HORIZONS))
                 .select_from(grouped).join(Course, Course.id == grouped.c.course_id)
                 .outerjoin(Agency, Agency.id == grouped.c.agency_id).outerjoin(Unit, Unit.id == grouped.c.unit_id))
        session.flush()
        counts.extend(StatusCount(agency, unit, course, state, int(pairs), tuple(int(n) for n in soon))
                      for agency, unit, course, state, pairs, *soon in session.connection().execute(named))
    return sorted(counts, key=lambda c: (c.agency or "", c.unit or "", c.course, order[c.status]))


def dashboard(session: Session, scope: Scope) -> Dashboard:
    """The scope's figures now, from the records (read from the tallies where they hold); the trend from the
    month ends the daily job counted."""
    # Pairs by status in STATUSES' order: by agency id (0: none), by unit (code, name) and by module id; the
    # rows of a large agency are thousands of units, so they are added as plain lists.
    by_agency: dict[int, list[int]] = {}
    by_unit: dict[tuple[str, str], list[int]] = {}
    by_course: dict[int, list[int]] = {}
    soon = [0] * len(HORIZONS)
    on_current: Counter[int] = Counter()
    versions = version_book(session)
    session.flush()
    for day in scope.days:
        for kind, group_id, code, name, *numbers in session.connection().execute(
                _figure_rows(session, scope, day, versions.required)).all():
            counts, extra = numbers[:len(STATUSES)], numbers[len(STATUSES):]
            if kind == "course":
                if any(counts):
                    _add(by_course, group_id, counts)
                    on_current[group_id] += extra[0]
                continue
            _add(by_agency, group_id, counts)
            _add(by_unit, (code, name), counts)
            soon = [total + n for total, n in zip(soon, extra, strict=True)]
    agency_codes = _names(session, Agency, by_agency)
    course_codes = _names(session, Course, by_course)
    agencies = [Tally(label, _counter(counts)) for _, label, counts in sorted(
        (agency_codes[i][0] if i else "", agency_codes[i][0] if i else "No agency", counts)
        for i, counts in by_agency.items())]
    unit_tallies = [Tally(f"{name} ({code})" if code else "No unit", _counter(counts))
                    for (code, name), counts in sorted(by_unit.items(), key=lambda item: item[0][0])]
    titles = versions.titles
    courses = []
    for course_id in sorted(by_course, key=lambda i: course_codes[i][0]):
        code = course_codes[course_id][0]
        courses.append(Tally(titles.get(code, code), _counter(by_course[course_id]), on_current[course_id],
                             versions.required_label(versions.codes[code]) if code in versions.codes else None))
    overall = Tally("All", sum((t.counts for t in agencies), Counter()))
    return Dashboard(scope.days, overall, agencies, unit_tallies, courses, dict(zip(HORIZONS, soon, strict=True)),
                     month_rates(session, scope))


def _add(totals: dict, key, counts: list[int]) -> None:
    """Add `counts` (pairs by status) into `totals[key]`."""
    if key in totals:
        totals[key] = [a + b for a, b in zip(totals[key], counts, strict=True)]
    else:
        totals[key] = counts


def _counter(counts: list[int]) -> Counter:
    """Pairs by status as a Tally holds them: the statuses with any."""
    return Counter({status: n for status, n in zip(STATUSES, counts, strict=True) if n})


def _figure_rows(session: Session, scope: Scope, day: LocalDay, required: dict[int, int]) -> Select:
    """The day's figures in one statement, so those by unit and by module are of the same moment: a row per cell
    ("cell", the agency's id (0: none), the unit's code and name, pairs by status in STATUSES' order, then
    those expiring within each of HORIZONS days) and a row per module ("course", its id, none, pairs by status,
    then those on the version in force)."""
    cells, courses = figures(session, day, scope.people, scope.cells, scope.whole_agencies)
    cells, courses = cells.subquery("cells"), courses.subquery("courses")

    def total(value) -> ColumnElement[int]:
        """A sum as an integer: PostgreSQL sums counts as numeric, which the driver would load as Decimal."""
        return cast(func.sum(value), BigInteger)

    def by_status(rows) -> list:
        return [total(case((rows.c.status == status, rows.c.pairs), else_=0)) for status in STATUSES]

    signed = case((and_(courses.c.status != "exempt",
                        signed_required(courses.c.acknowledged_version, courses.c.course_id, required)),
                   courses.c.pairs), else_=0)
    per_cell = (select(func.coalesce(cells.c.agency_id, 0).label("agency"), cells.c.unit_id, *by_status(cells),
                       *(total(cells.c[f"within_{days}"]) for days in HORIZONS))
                .group_by(cells.c.agency_id, cells.c.unit_id).subquery("per_cell"))
    return union_all(
        select(literal("cell"), per_cell.c.agency, func.coalesce(Unit.code, ""), func.coalesce(Unit.name, ""),
               *(c for c in per_cell.c if c.name not in ("agency", "unit_id")))
        .select_from(per_cell).outerjoin(Unit, Unit.id == per_cell.c.unit_id),
        select(literal("course"), courses.c.course_id, literal(""), literal(""), *by_status(courses),
               total(signed), *(literal(0) for _ in HORIZONS[1:]))
        .group_by(courses.c.course_id))


def _names(session: Session, model, ids) -> dict[int, tuple[str, str]]:
    """(code, name) of the agencies, units or modules with these ids (None among them is left out)."""
    wanted = [i for i in ids if i is not None]
    if not wanted:
        return {}
    name = model.title if model is Course else model.name
    return {i: (code, label) for i, code, label in session.execute(
        select(model.id, model.code, name).where(model.id.in_(wanted)))}


def month_rates(session: Session, scope: Scope) -> list[tuple[date, float | None]]:
    """The compliance rate of the scope at each of the last twelve month ends (before its earliest day) that the
    daily job has counted: up to the latest month end counted, for everyone at once. A scope of whole agencies
    reads each agency's sums (kind "agency"), a unit subtree the sums of its units (kind "month")."""
    ends = month_ends(min((day.on for day in scope.days), default=server_today()))
    counted_until = session.scalar(select(func.max(Snap.day)).where(Snap.kind == "month"))
    if counted_until is None:
        return []
    kind = "agency" if scope.whole_agencies else "month"
    rates = {day: compliance_rate(valid - exempt_valid, required, exempt)
             for day, required, valid, exempt, exempt_valid in session.execute(
                 select(Snap.day, func.sum(Snap.pairs), func.sum(Snap.valid), func.sum(Snap.exempt),
                        func.sum(Snap.exempt_valid))
                 .where(Snap.kind == kind, Snap.day.in_(ends), *scope.months).group_by(Snap.day))}
    return [(end, rates.get(end)) for end in ends if end <= counted_until]


def count_months(session: Session, earliest: date) -> int:
    """Count each of the last twelve month ends not yet counted into the snapshot table, for the trend;
    return how many were counted.

    The daily job runs this. A month end is counted for everyone at once, and
    only when it has passed everywhere: it must be before `earliest`, the
    earliest day any agency is on. A month end, once counted, stays as it was.
    """
    counted = set(session.scalars(select(Snap.day).where(Snap.kind == "month").distinct()))
    missing = [end for end in month_ends(earliest) if end not in counted]
    if not missing:
        return 0
    now = utcnow()
    rows = [{"kind": "month", "day": end, "agency_id": agency_id, "unit_id": unit_id, "course_id": course_id,
             "pairs": tally.required[i], "valid": tally.valid[i], "exempt": tally.exempt[i],
             "exempt_valid": tally.exempt_valid[i], "taken_at": now}
            for (agency_id, unit_id, course_id), tally in trend(session, missing).items()
            for i, end in enumerate(missing) if tally.required[i]]
    if rows:
        session.execute(insert(Snap), rows)
        session.execute(insert(Snap).from_select(AGENCY_SUMS, agency_sums(Snap.day.in_(missing))))
    return len(missing)


# Each agency's month ends summed over its units (kind "agency"), for the trend of whole agencies.
AGENCY_SUMS = ["kind", "day", "agency_id", "course_id", "pairs", "valid", "exempt", "exempt_valid", "taken_at"]


def agency_sums(*where: ColumnElement[bool]) -> Select:
    keys = (Snap.day, Snap.agency_id, Snap.course_id)
    return (select(literal("agency"), *keys, func.sum(Snap.pairs), func.sum(Snap.valid), func.sum(Snap.exempt),
                   func.sum(Snap.exempt_valid), func.max(Snap.taken_at))
            .where(Snap.kind == "month", *where).group_by(*keys))


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
