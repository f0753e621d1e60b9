"""Status tallies: the dashboard's counts kept ahead, so that a large agency's dashboard reads one row per group.

A tally is the number of required pairs of one cell (the agency and unit an
officer is placed in), module, status on a day and version signed, counted by
`refresh` from the same facts and rule as a count at a request (`counted`).
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
from datetime import date, datetime, timedelta

from sqlalchemy import (
    ColumnElement,
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
from training.db import utcnow
from training.people.models import User
from training.records.status import pair_facts_query, status_expression
from training.reports.models import StatusTally, TallyDay, TallyMark

HORIZONS = (30, 60, 90)
# The columns of a count's rows, by ids: as StatusTally holds them.
COLUMNS = ("agency_id", "unit_id", "course_id", "status", "acknowledged_version", "pairs",
           *(f"within_{days}" for days in HORIZONS))


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


def _marked(agency_id, unit_id) -> ColumnElement[bool]:
    """Whether the cell of (`agency_id`, `unit_id`) has a mark."""
    return exists().where(TallyMark.unit_key == func.coalesce(unit_id, 0),
                          TallyMark.agency_key == func.coalesce(agency_id, 0))


def _marked_officers() -> list[list[ColumnElement[bool]]]:
    """Conditions on User picking the officers of marked cells, as two sets, those placed in a unit and those
    not, each found through the index on the officers' agency and unit."""
    marked = _marked(User.agency_id, User.unit_id)
    return [[User.unit_id.in_(select(TallyMark.unit_key).where(TallyMark.unit_key != 0)), marked],
            [User.unit_id.is_(None),
             func.coalesce(User.agency_id, 0).in_(select(TallyMark.agency_key).where(TallyMark.unit_key == 0)),
             marked]]


def counted(session: Session, day: LocalDay, people: list[ColumnElement[bool]],
            cells: list[ColumnElement[bool]] | None) -> Select:
    """COLUMNS of the officers matching `people` (on User) whose agency is on `day`: the tallies of the cells not
    marked, where the agency's day has them, and the rest counted from the records. `cells` are the same
    conditions on StatusTally's agency and unit (None: the scope is not made of cells; everything is counted
    from the records)."""
    if day.agency_ids is None or cells is None:
        return facts_counted(day.on, *people, *of_agencies(User.agency_id, day.agency_ids))
    agencies = {key(agency_id): agency_id for agency_id in day.agency_ids}
    tallied = set(session.scalars(select(TallyDay.agency_key).where(TallyDay.day == day.on,
                                                                    TallyDay.agency_key.in_(agencies))))
    parts: list[Select] = []
    if tallied:
        ids = [agencies[k] for k in sorted(tallied)]
        parts.append(select(*(StatusTally.__table__.c[name] for name in COLUMNS))
                     .where(StatusTally.day == day.on, *of_agencies(StatusTally.agency_id, ids), *cells,
                            ~_marked(StatusTally.agency_id, StatusTally.unit_id)))
        parts.extend(facts_counted(day.on, *people, *of_agencies(User.agency_id, ids), *officers)
                     for officers in _marked_officers())
    if untallied := [agencies[k] for k in sorted(agencies.keys() - tallied)]:
        parts.append(facts_counted(day.on, *people, *of_agencies(User.agency_id, untallied)))
    return parts[0] if len(parts) == 1 else union_all(*parts)


def refresh(session: Session, now: datetime | None = None) -> Counter:
    """Count each agency's pairs on its day and the next where not yet counted, count again the cells marked
    since, and forget the days that have passed everywhere they were counted for.

    The session's transaction must be a snapshot from its first statement (see `snapshot`).
    """
    counts: Counter = Counter()
    marks = session.scalar(select(func.count()).select_from(TallyMark))
    wanted: dict[date, list[int | None]] = {}
    for local in local_days(session, now):
        for on in (local.on, local.on + timedelta(days=1)):
            wanted.setdefault(on, []).extend(local.agency_ids or ())
    present = {(on, k) for on, k in session.execute(select(TallyDay.day, TallyDay.agency_key))}
    for on, agency_ids in sorted(wanted.items()):
        fresh = [a for a in agency_ids if (on, key(a)) not in present]
        again = [a for a in agency_ids if (on, key(a)) in present]
        if fresh:
            _insert(session, on, of_agencies(User.agency_id, fresh))
            session.execute(insert(TallyDay), [{"day": on, "agency_key": key(a), "counted_at": utcnow()}
                                               for a in fresh])
            counts["days counted"] += len(fresh)
        if again and marks:
            session.execute(delete(StatusTally).where(
                StatusTally.day == on, *of_agencies(StatusTally.agency_id, again),
                _marked(StatusTally.agency_id, StatusTally.unit_id)))
            for officers in _marked_officers():
                _insert(session, on, [*of_agencies(User.agency_id, again), *officers])
    if marks:
        session.execute(delete(TallyMark))
        counts["marked cells counted again"] += marks
    earliest = min(wanted, default=None)
    if earliest is not None:
        session.execute(delete(StatusTally).where(StatusTally.day < earliest))
        session.execute(delete(TallyDay).where(TallyDay.day < earliest))
    return counts


def snapshot(session: Session) -> None:
    """Make the session's transaction, not begun yet, one snapshot from its first statement on PostgreSQL (SQLite's
    transactions are already). A session bound to a connection, not an engine, runs in the transaction the
    connection is already in, as it stands."""
    bind = session.get_bind()
    if bind.dialect.name == "postgresql" and isinstance(bind, Engine):
        session.connection(execution_options={"isolation_level": "REPEATABLE READ"})


def _insert(session: Session, on: date, where: list[ColumnElement[bool]]) -> None:
    rows = facts_counted(on, *where).subquery("rows")
    session.execute(insert(StatusTally).from_select(
        ["day", *COLUMNS], select(literal(on).label("day"), *(rows.c[name] for name in COLUMNS))))
