"""Status tallies: the dashboard's counts kept ahead, so that a large agency's dashboard reads one row per group.

A tally is the number of required pairs of one cell (the agency and unit an
officer is placed in), module, status on a day and version signed, counted by
`refresh` from the same facts and rule as a count at a request (`counted`); and,
for a coordinator's home, the number of officers of a cell with a module overdue
or expiring (OfficerTally, the kind OFFICERS).
The job counts each agency's day and the next, so the tallies are ready when
the day begins. Database triggers mark the cell of every officer whose records
a write touches, in the same transaction as the write
(migrations/versions/2026_11_27_1640_b6c2e9d41f70_status_tallies.py); a count
takes the tallies of the cells not marked and counts the marked cells, and the
agencies whose day has no tallies yet, from the records, in one statement. So
a count always equals one made from the records at the same moment, whatever
the job has done; the job only decides how much of it is read from tallies.

The job counts and removes marks in one snapshot of the database (REPEATABLE
READ on PostgreSQL; SQLite's transactions are snapshots): a write that commits
while it counts is not in its snapshot, so its mark stays, for the next request
and the next run.
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import NamedTuple

from sqlalchemy import (
    ColumnElement,
    Integer,
    Select,
    and_,
    case,
    delete,
    exists,
    func,
    insert,
    literal,
    select,
    union_all,
)
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from training.clock import LocalDay, local_days, of_agencies
from training.db import analyze, utcnow
from training.people.models import User
from training.records.status import pair_facts_query, status_expression
from training.reports.models import AgencyTally, OfficerTally, StatusTally, TallyDay, TallyMark, UnitTally

HORIZONS = (30, 60, 90)
# The columns of a count's rows, by ids: as StatusTally holds them.
COLUMNS = ("agency_id", "unit_id", "course_id", "status", "acknowledged_version", "pairs",
           *(f"within_{days}" for days in HORIZONS))
# The statuses whose officers a coordinator's home counts, and the columns of those counts: as OfficerTally
# holds them.
ATTENTION = ("overdue", "expiring")
OFFICER_COLUMNS = ("agency_id", "unit_id", "status", "officers")


def key(agency_id: int | None) -> int:
    """The agency's key in tally_days and tally_marks: 0 for officers of no agency."""
    return agency_id or 0


def facts_counted(on: date, *where: ColumnElement[bool]) -> Select:
    """The roster's pairs on `on` of the officers matching `where` (on User), counted by agency, unit, module,
    status and version signed, with those expiring within each of HORIZONS days: COLUMNS. Pairs without a status
    (nothing makes the module required now, such as a withdrawn assignment) are left out."""
    facts = pair_facts_query(on, *where).subquery("facts")
    status = status_expression(on, facts.c.expires_on, facts.c.due_on, facts.c.exempt_until)

    def expiring_within(days: int):
        return func.sum(case((and_(facts.c.expires_on >= on, facts.c.expires_on <= on + timedelta(days=days)), 1),
                             else_=0)).label(f"within_{days}")

    keys = (facts.c.agency_id, facts.c.unit_id, facts.c.course_id, status.label("status"),
            facts.c.acknowledged_version)
    return (select(*keys, func.count().label("pairs"), *(expiring_within(days) for days in HORIZONS))
            .where(status.is_not(None)).group_by(*keys))


def officers_counted(on: date, *where: ColumnElement[bool]) -> Select:
    """The officers matching `where` (on User) with at least one required module in each status of ATTENTION on
    `on`, by agency, unit and status: OFFICER_COLUMNS. An officer is in one cell, so the counts of cells add up
    to those of a unit or an agency."""
    facts = pair_facts_query(on, *where).subquery("facts")
    states = select(facts.c.agency_id, facts.c.unit_id, facts.c.user_id,
                    status_expression(on, facts.c.expires_on, facts.c.due_on, facts.c.exempt_until)
                    .label("status")).subquery("states")
    keys = (states.c.agency_id, states.c.unit_id, states.c.status)
    return (select(*keys, func.count(states.c.user_id.distinct()).label("officers"))
            .where(states.c.status.in_(ATTENTION)).group_by(*keys))


class Kind(NamedTuple):
    """What a count counts: pairs (StatusTally) or officers needing attention (OfficerTally); how it is counted
    from the records, and the tally and columns it is kept in."""

    count: Callable[..., Select]
    tally: type
    columns: tuple[str, ...]


PAIRS = Kind(facts_counted, StatusTally, COLUMNS)
OFFICERS = Kind(officers_counted, OfficerTally, OFFICER_COLUMNS)


def _marked(agency_id, unit_id) -> ColumnElement[bool]:
    """Whether the cell of (`agency_id`, `unit_id`) has a mark."""
    return exists().where(TallyMark.unit_key == func.coalesce(unit_id, 0),
                          TallyMark.agency_key == func.coalesce(agency_id, 0))


def _of_marked_cells(model, columns: list, *where: ColumnElement[bool]) -> list[Select]:
    """`columns` of the rows of `model` (tallies by cell, with agency_id and unit_id) whose cell is marked, as two
    statements, for cells placed in a unit and those not: each goes from the distinct marked cells to their rows
    through the index on day, agency and unit, so it reads the marked cells' rows only, not every row of the
    agency's day tested against the marks."""
    marked = select(TallyMark.agency_key, TallyMark.unit_key).distinct().subquery("marked")
    agency = func.coalesce(model.agency_id, 0) == marked.c.agency_key
    return [select(*columns).select_from(marked).join(model, and_(on, agency)).where(*where)
            for on in (model.unit_id == marked.c.unit_key, and_(model.unit_id.is_(None), marked.c.unit_key == 0))]


def _marked_officers() -> list[list[ColumnElement[bool]]]:
    """Conditions on User picking the officers of marked cells, as two sets, those placed in a unit and those
    not, each found through the index on the officers' agency and unit."""
    marked = _marked(User.agency_id, User.unit_id)
    return [[User.unit_id.in_(select(TallyMark.unit_key).where(TallyMark.unit_key != 0)), marked],
            [User.unit_id.is_(None),
             func.coalesce(User.agency_id, 0).in_(select(TallyMark.agency_key).where(TallyMark.unit_key == 0)),
             marked]]


# Conditions limiting rows to a scope, given the columns of the agency and the unit they are about (see
# `dashboard.scope_of`); None: the scope is not made of whole units or agencies.
Cells = Callable[[ColumnElement, ColumnElement], list[ColumnElement[bool]]] | None


class Split(NamedTuple):
    """The agencies of a day (None among them: no agency) whose tallies are counted, and those whose are not
    (None: everyone, a day given for all)."""

    tallied: list[int | None]
    untallied: list[int | None] | None


def split(session: Session, day: LocalDay, cells: Cells) -> Split:
    """The day's agencies by whether the tally job has counted their day; none of them when the scope is not
    made of cells."""
    if day.agency_ids is None or cells is None:
        return Split([], list(day.agency_ids) if day.agency_ids is not None else None)
    agencies = {key(agency_id): agency_id for agency_id in day.agency_ids}
    tallied = set(session.scalars(select(TallyDay.agency_key).where(TallyDay.day == day.on,
                                                                    TallyDay.agency_key.in_(agencies))))
    return Split([agencies[k] for k in sorted(tallied)], [agencies[k] for k in sorted(agencies.keys() - tallied)])


def _live_parts(on: date, people: list[ColumnElement[bool]], agencies: Split, kind: Kind = PAIRS) -> list[Select]:
    """Counts from the records (the kind's columns): of the marked cells of the tallied agencies, and of the
    others."""
    parts = [kind.count(on, *people, *of_agencies(User.agency_id, agencies.tallied), *officers)
             for officers in _marked_officers()] if agencies.tallied else []
    if agencies.untallied is None or agencies.untallied:
        parts.append(kind.count(on, *people, *of_agencies(User.agency_id, agencies.untallied)))
    return parts


def _union(parts: list[Select]) -> Select:
    return parts[0] if len(parts) == 1 else union_all(*parts)


def counted(session: Session, day: LocalDay, people: list[ColumnElement[bool]], cells: Cells,
            kind: Kind = PAIRS) -> Select:
    """The kind's columns (COLUMNS: pairs; OFFICER_COLUMNS: officers needing attention) of the officers matching
    `people` (on User) whose agency is on `day`: the tallies of the cells not marked, where the agency's day has
    them, and the rest counted from the records. `cells` gives the same conditions on the tallies' agency and
    unit."""
    agencies = split(session, day, cells)
    parts = _live_parts(day.on, people, agencies, kind)
    if agencies.tallied:
        tally = kind.tally
        parts.insert(0, select(*(tally.__table__.c[name] for name in kind.columns)).where(
            tally.day == day.on, *of_agencies(tally.agency_id, agencies.tallied),
            *cells(tally.agency_id, tally.unit_id), ~_marked(tally.agency_id, tally.unit_id)))
    return _union(parts)


def figures(session: Session, day: LocalDay, people: list[ColumnElement[bool]], cells: Cells,
            whole_agencies: bool) -> tuple[Select, Select]:
    """The counts `counted` gives, summed two ways: by cell and status (agency_id, unit_id, status, pairs,
    within_*), and by module, status and version signed (course_id, status, acknowledged_version, pairs).

    Read from the tallies already summed those ways: by cell, the cells not marked; by module, for a scope of
    whole agencies, each agency's sums less the marked cells' tallies. The marked cells, and the agencies whose
    day has no tallies yet, are counted from the records and added.
    """
    agencies = split(session, day, cells)
    # A CTE: both sums read the count from the records, which PostgreSQL then makes once.
    live = _union(_live_parts(day.on, people, agencies)).cte("live")
    by_cell = [select(live.c.agency_id, live.c.unit_id, live.c.status, live.c.pairs,
                      *(live.c[f"within_{days}"] for days in HORIZONS))]
    by_course = [select(live.c.course_id, live.c.status, live.c.acknowledged_version, live.c.pairs)]
    if agencies.tallied:
        theirs = of_agencies(UnitTally.agency_id, agencies.tallied)
        by_cell.append(select(UnitTally.agency_id, UnitTally.unit_id, UnitTally.status, UnitTally.pairs,
                              *(UnitTally.__table__.c[f"within_{days}"] for days in HORIZONS))
                       .where(UnitTally.day == day.on, *theirs, *cells(UnitTally.agency_id, UnitTally.unit_id),
                              ~_marked(UnitTally.agency_id, UnitTally.unit_id)))
        cell = StatusTally
        tallied = [cell.day == day.on, *of_agencies(cell.agency_id, agencies.tallied),
                   *cells(cell.agency_id, cell.unit_id)]
        if whole_agencies:
            by_course.append(select(AgencyTally.course_id, AgencyTally.status, AgencyTally.acknowledged_version,
                                    AgencyTally.pairs)
                             .where(AgencyTally.day == day.on, *of_agencies(AgencyTally.agency_id, agencies.tallied),
                                    *cells(AgencyTally.agency_id, None)))
            by_course.extend(_of_marked_cells(cell, [cell.course_id, cell.status, cell.acknowledged_version,
                                                     -cell.pairs], *tallied))
        else:
            by_course.append(select(cell.course_id, cell.status, cell.acknowledged_version, cell.pairs)
                             .where(*tallied, ~_marked(cell.agency_id, cell.unit_id)))
    return _union(by_cell), _union(by_course)


def refresh(session: Session, now: datetime | None = None) -> Counter:
    """Count each agency's pairs on its day and the next where not yet counted, count again the cells marked
    since, and forget the other days.

    The session's transaction must be a snapshot from its first statement (see `snapshot`).
    """
    counts: Counter = Counter()
    marks = session.scalar(select(func.count()).select_from(TallyMark))
    # Only the agencies with a marked cell are counted again.
    touched = set(session.scalars(select(TallyMark.agency_key).distinct())) if marks else set()
    wanted: dict[date, list[int | None]] = {}
    for local in local_days(session, now):
        for on in (local.on, local.on + timedelta(days=1)):
            wanted.setdefault(on, []).extend(local.agency_ids or ())
    present = {(on, k) for on, k in session.execute(select(TallyDay.day, TallyDay.agency_key))}
    for on, agency_ids in sorted(wanted.items()):
        for agency_id in agency_ids:
            if (on, key(agency_id)) not in present:
                _count(session, on, agency_id, [])
                session.add(TallyDay(day=on, agency_key=key(agency_id), counted_at=utcnow()))
                counts["agency days counted"] += 1
            elif key(agency_id) in touched:
                _count(session, on, agency_id, _marked_officers())
    if marks:
        session.execute(delete(TallyMark))
        counts["changes counted again"] += marks
    # Only the days wanted now are kept: an agency whose day moved (its time zone changed) is counted afresh.
    for on in sorted({on for on, _ in present}):
        keep = {key(a) for a in wanted.get(on, ())}
        if stale := sorted({k for d, k in present if d == on} - keep):
            for model in (StatusTally, UnitTally, AgencyTally, OfficerTally):
                session.execute(delete(model).where(model.day == on, *of_agencies(
                    model.agency_id, [k or None for k in stale])))
            session.execute(delete(TallyDay).where(TallyDay.day == on, TallyDay.agency_key.in_(stale)))
            counts["agency days forgotten"] += len(stale)
    # A day counted or forgotten changes the tallies wholesale, and the marks read are gone: a request planned on
    # older statistics would test every tally of the agency's day against marks no longer there.
    analyze(session, *([StatusTally, UnitTally, AgencyTally, OfficerTally, TallyDay]
                       if counts["agency days counted"] or counts["agency days forgotten"] else []),
            *([TallyMark] if marks else []))
    session.flush()
    return counts


def _count(session: Session, on: date, agency_id: int | None, marked: list[list[ColumnElement[bool]]]) -> None:
    """Count the agency's pairs and officers needing attention on `on` into the tallies: every cell, or
    (`marked`, the conditions of `_marked_officers`) the marked cells, whose tallies are replaced; then its sums
    by module again."""
    theirs = of_agencies(StatusTally.agency_id, [agency_id])
    if marked:
        for model in (StatusTally, UnitTally, OfficerTally):
            session.execute(delete(model).where(model.id.in_(union_all(*_of_marked_cells(
                model, [model.id], model.day == on, *of_agencies(model.agency_id, [agency_id]))))))
    for officers in marked or [[]]:
        for kind in (PAIRS, OFFICERS):
            rows = kind.count(on, *of_agencies(User.agency_id, [agency_id]), *officers).subquery("rows")
            session.execute(insert(kind.tally).from_select(
                ["day", *kind.columns], select(literal(on).label("day"), *(rows.c[name] for name in kind.columns))))
    cell = StatusTally
    columns = [cell.agency_id, cell.unit_id, cell.status, cell.pairs,
               *(cell.__table__.c[f"within_{days}"] for days in HORIZONS)]
    counted_cells = (_union(_of_marked_cells(cell, columns, cell.day == on, *theirs)) if marked
                     else select(*columns).where(cell.day == on, *theirs)).subquery("cells")
    cell_keys = (counted_cells.c.agency_id, counted_cells.c.unit_id, counted_cells.c.status)
    session.execute(insert(UnitTally).from_select(
        ["day", "agency_id", "unit_id", "status", "pairs", *(f"within_{days}" for days in HORIZONS)],
        select(literal(on), *cell_keys, func.sum(counted_cells.c.pairs),
               *(func.sum(counted_cells.c[f"within_{days}"]) for days in HORIZONS)).group_by(*cell_keys)))
    session.execute(delete(AgencyTally).where(AgencyTally.day == on, *of_agencies(AgencyTally.agency_id,
                                                                                   [agency_id])))
    course_keys = (StatusTally.course_id, StatusTally.status, StatusTally.acknowledged_version)
    session.execute(insert(AgencyTally).from_select(
        ["day", "agency_id", "course_id", "status", "acknowledged_version", "pairs"],
        select(literal(on), literal(agency_id, Integer), *course_keys, func.sum(StatusTally.pairs))
        .where(StatusTally.day == on, *theirs).group_by(*course_keys)))


def snapshot(session: Session) -> None:
    """Make the session's transaction, not begun yet, one snapshot from its first statement on PostgreSQL (SQLite's
    transactions are already). A session bound to a connection, not an engine, runs in the transaction the
    connection is already in, as it stands."""
    bind = session.get_bind()
    if bind.dialect.name == "postgresql" and isinstance(bind, Engine):
        session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
