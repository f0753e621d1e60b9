"""Status of officers for their required courses, computed in one query.

Pages, exports and jobs all read states through `course_states` so that every
place applies `certification_status` to the same facts.
"""
from __future__ import annotations

import functools
from collections.abc import Iterable, Iterator
from datetime import date, datetime, time, timedelta
from typing import NamedTuple

from sqlalchemy import (
    ColumnElement,
    CompoundSelect,
    Date,
    Integer,
    Row,
    Select,
    Subquery,
    and_,
    bindparam,
    case,
    exists,
    func,
    literal,
    or_,
    select,
    tuple_,
    union,
    union_all,
)
from sqlalchemy.orm import Session, aliased
from sqlalchemy.sql.expression import Exists

from training.catalog.models import Course, CourseVersion
from training.people.models import Agency, Unit, User
from training.records.models import Assignment, AssignmentChange, Completion, Exemption, RequiredPair
from training.records.rules import EXPIRING_DAYS, certification_status


class CourseState(NamedTuple):
    user_id: int
    employee_id: str | None
    first_name: str
    last_name: str
    agency_code: str | None
    unit_code: str | None
    course_id: int
    course_code: str
    course_title: str
    course_version: int | None
    due_on: date | None
    completed_on: date | None
    score: int | None
    expires_on: date | None
    exempt_until: date | None
    status: str | None


class PairState(NamedTuple):
    """A required pair's status and the dates a page shows beside it, from the pair's stored facts
    (`pair_facts_query`): what a page of many officers needs, without the latest completion's details."""
    user_id: int
    course_id: int
    due_on: date | None
    expires_on: date | None
    exempt_until: date | None
    status: str | None


# The roster's order of officers; ix_users_name gives it.
ROSTER_ORDER = (User.last_name, User.first_name, User.id)


def course_states(session: Session, on: date, *where: ColumnElement[bool], order_by_due: bool = False,
                  yield_per: int | None = None, as_of: bool = False) -> Iterator[CourseState]:
    """Every (officer, required course) pair matching `where` (on users), with its status on `on`.

    A course is required of an officer who has ever been assigned it, has completed
    it or is exempted from it. A completion revoked by `on` does not count towards the status.
    With `as_of`, only the records as they stood at the end of `on` count (see `course_states_query`).
    """
    stmt = course_states_query(on, *where, order_by_due=order_by_due, as_of=as_of)
    return run_states(session, stmt, on, yield_per=yield_per)


def officer_course_states(session: Session, on: date, officer_id: int, *,
                          order_by_due: bool = False) -> list[CourseState]:
    """`course_states` of one officer: their own page's, read with a statement built once (see `_officer_query`)."""
    return list(run_states(session, _officer_query(order_by_due), on, params={"on": on, "officer_id": officer_id}))


def open_assignments_of(session: Session, officer_id: int) -> dict:
    """An officer's open assignments by course id (at most one each): the id, due date and version asked for
    (a policy update's) that their pages act on, as rows."""
    return {row.course_id: row for row in session.execute(
        select(Assignment.id, Assignment.course_id, Assignment.due_on, Assignment.version_id)
        .where(Assignment.user_id == officer_id, Assignment.closed_at.is_(None)))}


@functools.cache
def _officer_query(order_by_due: bool) -> Select:
    """`course_states_query` for one officer, the day and the officer left as parameters: building the statement
    takes longer than the database takes to answer it, and an officer's own pages run it on every request."""
    return course_states_query(bindparam("on", type_=Date()), User.id == bindparam("officer_id", type_=Integer()),
                               order_by_due=order_by_due)


def run_states(session: Session, stmt: Select, on: date, yield_per: int | None = None,
               params: dict | None = None) -> Iterator[CourseState]:
    """Rows of a `course_states_query` (possibly narrowed with more conditions) as CourseStates."""
    session.flush()  # rows are read at the Core level, which does not autoflush
    result = session.connection().execute(stmt.execution_options(stream_results=bool(yield_per)), params)
    return as_states(result.yield_per(yield_per) if yield_per else result.all(), on)


def as_states(rows: Iterable[Row], on: date) -> Iterator[CourseState]:
    """Rows of a `course_states_query` as CourseStates, each with its status on `on`."""
    for row in rows:
        # Columns 10, 13 and 14: open due date, expiry, end of an active exemption.
        yield CourseState(*row, certification_status(on, expires_on=row[13], open_due_on=row[10],
                                                     exempt=row[14] is not None))


def exempt_on(on: date, course_id, user_id) -> Exists:
    """Whether the officer has an exemption from the course lasting through `on`: they are not assigned it."""
    return exists().where(Exemption.user_id == user_id, Exemption.course_id == course_id,
                          Exemption.starts_on <= on, Exemption.ends_on >= on)


def certified_on(on: date, course_id, user_id) -> Exists:
    """Whether the officer holds a certification of the course valid on `on` (completed by then, not revoked)."""
    return exists().where(Completion.user_id == user_id, Completion.course_id == course_id,
                          Completion.completed_on <= on, Completion.expires_on >= on,
                          Completion.revoked_on.is_(None))


def not_revoked_by(on: date) -> ColumnElement[bool]:
    """Completions not revoked on or before `on`: a later revocation leaves the past as it was."""
    return or_(Completion.revoked_on.is_(None), Completion.revoked_on > on)


def latest_completion(on: date, user_id, course_id, column, outer) -> ColumnElement:
    """`column` of the pair's latest completion on or before `on`, found with one index seek; one revoked by then
    no longer certifies, so it is passed over. `outer` is the FROM the pair's `user_id` and `course_id` come from."""
    return (select(column)
            .where(Completion.user_id == user_id, Completion.course_id == course_id,
                   Completion.completed_on <= on, not_revoked_by(on))
            .order_by(Completion.completed_on.desc(), Completion.id.desc()).limit(1)
            .correlate(outer).scalar_subquery())


def status_expression(on: date, expires_on, open_due_on, exempt_until) -> ColumnElement[str]:
    """`certification_status` as SQL, for counting and filtering in the database."""
    return case(
        (exempt_until.is_not(None), literal("exempt")),
        (expires_on > on + timedelta(days=EXPIRING_DAYS), literal("current")),
        (expires_on >= on, literal("expiring")),
        (open_due_on < on, literal("overdue")),
        (expires_on.is_not(None), literal("lapsed")),
        (open_due_on.is_not(None), literal("assigned")),
        else_=literal(None),
    )


def end_of(on: date) -> datetime:
    """The first instant after the day `on` (UTC, as timestamps are stored)."""
    return datetime.combine(on + timedelta(days=1), time.min)


def due_as_of(cutoff: datetime) -> ColumnElement[date]:
    """An assignment's due date as it stood just before `cutoff`: the date the latest change before then set,
    else the date the first change after then replaced, else the date it has now (it never changed)."""
    change = aliased(AssignmentChange, name="change")
    set_before = (select(change.due_on).where(change.assignment_id == Assignment.id, change.at < cutoff,
                                              change.due_on.is_not(None))
                  .order_by(change.at.desc(), change.id.desc()).limit(1).scalar_subquery())
    replaced_after = (select(change.due_on_before).where(change.assignment_id == Assignment.id, change.at >= cutoff)
                      .order_by(change.at, change.id).limit(1).scalar_subquery())
    return func.coalesce(set_before, replaced_after, Assignment.due_on)


def _pairs_as_of(on: date, mine) -> Subquery:
    """The pairs as they stood at the end of `on`, from the records (`course_states_query` with `as_of`): those
    with an assignment made, a completion made or an exemption started by then, each with the due date of its
    assignment open then and the end of its exemption lasting through `on`. `mine` gives the conditions that
    keep a records table to the officers asked for."""
    cutoff = end_of(on)
    assigned_by_then = Assignment.created_at < cutoff
    keys = union(
        select(Assignment.user_id, Assignment.course_id).where(*mine(Assignment.user_id), assigned_by_then),
        select(Completion.user_id, Completion.course_id).where(*mine(Completion.user_id),
                                                               Completion.completed_on <= on),
        select(Exemption.user_id, Exemption.course_id).where(*mine(Exemption.user_id), Exemption.starts_on <= on),
    ).subquery("pair_keys")
    then = select(Assignment.user_id, Assignment.course_id, due_as_of(cutoff).label("due_on")).where(
        assigned_by_then, or_(Assignment.closed_at.is_(None), Assignment.closed_at >= cutoff),
        *mine(Assignment.user_id)).subquery("assignment_then")
    open_assignment = select(then.c.user_id, then.c.course_id, func.max(then.c.due_on).label("due_on")).group_by(
        then.c.user_id, then.c.course_id).subquery("open_assignment")
    exemption = select(
        Exemption.user_id, Exemption.course_id, func.max(Exemption.ends_on).label("ends_on")
    ).where(Exemption.starts_on <= on, Exemption.ends_on >= on, *mine(Exemption.user_id)).group_by(
        Exemption.user_id, Exemption.course_id).subquery("exemption")
    return (select(keys.c.user_id, keys.c.course_id, open_assignment.c.due_on,
                   exemption.c.ends_on.label("exempt_until"))
            .select_from(keys)
            .outerjoin(open_assignment, and_(open_assignment.c.user_id == keys.c.user_id,
                                             open_assignment.c.course_id == keys.c.course_id))
            .outerjoin(exemption, and_(exemption.c.user_id == keys.c.user_id,
                                       exemption.c.course_id == keys.c.course_id))
            .subquery("pairs"))


def course_states_query(on: date, *where: ColumnElement[bool], order_by_due: bool = False,
                        as_of: bool = False) -> Select:
    """The facts behind `course_states`, one row per officer and required course.

    Without `as_of` the pairs come from RequiredPair, by its key for the officers
    asked for, with today's open due date and, where the pair's stored facts are
    those of `on`, its exemption; the latest completion on `on` comes from the
    completions. With `as_of` the roster is rebuilt from the records as it stood
    at the end of `on` (`_pairs_as_of`): only assignments created by then and not
    yet closed, completions and exemptions that had started, and pairs that had
    one of them. Columns are labelled as the fields of CourseState.

    The officer conditions are repeated inside the subqueries: databases do not
    push them through a UNION or a GROUP BY, and without them one officer's page
    would read every officer's records.
    """
    people = select(User.id).where(*where).cte("people") if where else None

    def mine(column):
        return [column.in_(select(people.c.id))] if where else []

    if as_of:
        pairs = _pairs_as_of(on, mine)
    else:
        pair = aliased(RequiredPair, name="required_pair")
        pairs = (select(pair.user_id, pair.course_id, pair.due_on, _exempt_until(pair, on).label("exempt_until"))
                 .where(*mine(pair.user_id)).subquery("pairs"))
    latest_id = latest_completion(on, pairs.c.user_id, pairs.c.course_id, Completion.id, pairs)
    pair_latest = select(pairs, latest_id.label("completion_id")).subquery("pair")
    latest = aliased(Completion, name="latest")
    stmt = (
        select(
            User.id.label("user_id"), User.employee_id, User.first_name, User.last_name,
            Agency.code.label("agency_code"), Unit.code.label("unit_code"), Course.id.label("course_id"),
            Course.code.label("course_code"), Course.title.label("course_title"),
            CourseVersion.number.label("course_version"), pair_latest.c.due_on,
            latest.completed_on, latest.score, latest.expires_on, pair_latest.c.exempt_until,
        )
        .select_from(pair_latest)
        .join(User, User.id == pair_latest.c.user_id)
        .join(Course, Course.id == pair_latest.c.course_id)
        .outerjoin(Agency, Agency.id == User.agency_id)
        .outerjoin(Unit, Unit.id == User.unit_id)
        .outerjoin(latest, latest.id == pair_latest.c.completion_id)
        .outerjoin(CourseVersion, CourseVersion.id == latest.version_id)
        .where(User.active.is_(True), Course.active.is_(True), *where)
    )
    if order_by_due:
        stmt = stmt.order_by(func.coalesce(pair_latest.c.due_on, latest.expires_on), Course.code)
    else:
        stmt = stmt.order_by(*ROSTER_ORDER, Course.code)
    return stmt


def officer_slices(session: Session, *where: ColumnElement[bool], size: int) -> Iterator[list[int]]:
    """The ids of the active officers matching `where` (on users) in runs of `size`, first to last in
    ROSTER_ORDER, so that a query over one run at a time reads each officer's rows by index and sorts only its
    own rows.

    Each run is read from where the last one ended by one walk of ix_users_name, and named by its officers'
    ids, so that the database knows each query's size (a range of names it estimates far too large, and plans
    for all officers). One statement per run, and one more when the officers fill the last run exactly.
    """
    key = tuple_(*ROSTER_ORDER)
    after: list[ColumnElement[bool]] = []
    while True:
        run = session.execute(select(*ROSTER_ORDER).where(User.active.is_(True), *where, *after)
                              .order_by(*ROSTER_ORDER).limit(size)).all()
        if run:
            yield [officer.id for officer in run]
        if len(run) < size:
            return
        after = [key > tuple_(*run[-1])]


def settled(pair, on: date) -> ColumnElement[bool]:
    """SQL: the pair's stored facts are those of `on` (see `pair_facts_query`)."""
    return or_(pair.settles_on.is_(None), pair.settles_on <= on)


def exempt_by_facts(pair, on: date) -> ColumnElement[bool]:
    """SQL: a settled pair's stored facts say it is exempt on `on` (true only then; of a pair not settled by
    `on`, the exemptions themselves say)."""
    return and_(pair.exempt_starts_on <= on, pair.exempt_ends_on >= on)


def _exemption_by_facts(pair, on: date) -> ColumnElement:
    """SQL: the end of a settled pair's exemption lasting through `on`, from its stored facts (else null)."""
    return case((exempt_by_facts(pair, on), pair.exempt_ends_on))


def _exemption_by_records(pair, on: date) -> ColumnElement:
    """SQL: the end of the pair's exemption lasting through `on`, from the exemptions themselves (else null)."""
    return (select(func.max(Exemption.ends_on))
            .where(Exemption.user_id == pair.user_id, Exemption.course_id == pair.course_id,
                   Exemption.starts_on <= on, Exemption.ends_on >= on)
            .correlate(pair).scalar_subquery())


def _exempt_until(pair, on: date) -> ColumnElement:
    """SQL: the end of the pair's exemption lasting through `on`: by its stored facts when they are those of `on`
    (`settled`), else by the exemptions."""
    return case((settled(pair, on), _exemption_by_facts(pair, on)), else_=_exemption_by_records(pair, on))


def pair_facts_query(on: date, *where: ColumnElement[bool], few: bool = False) -> CompoundSelect:
    """The facts `status_expression` needs on `on`, one row per required pair of the active officers matching
    `where` (on users) and active module, read from RequiredPair: the same rows and facts as
    `course_states_query` (without `as_of`), for counting at agency scale with one scan.

    With `few`, for a page's few hundred officers: the officers matching `where` are read first (a CTE, as in
    `course_states_query`) and their pairs found by the pairs' own key. Seen only through the join to users, the
    conditions can lead the planner to read every pair (at 100,000 officers, 800,000 pairs for a unit's 4,000).

    Columns: user_id, agency_id, unit_id, course_id, due_on, expires_on, exempt_until, acknowledged_version (the
    highest version signed, now). The stored facts are
    those of `on` for every pair settled by then (`settles_on`): no completion was made or revoked after `on`,
    so the latest never revoked is the latest on `on` not revoked by `on`; and the pair has at most one
    exemption, or none ending after `on` (each then started by `on`, and the pair is exempt on `on` exactly
    when the latest ends on it). The few others (a completion dated after an agency's day, as for an officer
    moved from a time zone ahead of it, or several exemptions, one ending later), found through the index on
    `settles_on`, take their expiry and exemption from the records as `course_states_query` does, in the
    second part of a UNION ALL.
    """
    pair = aliased(RequiredPair, name="pair")
    if few and where:
        people = select(User.id).where(*where).cte("people")
        where = (pair.user_id.in_(select(people.c.id)),)
    unsettled = pair.settles_on > on

    def part(expires_on, exempt, condition) -> Select:
        return (select(pair.user_id, User.agency_id, User.unit_id, pair.course_id, pair.due_on,
                       expires_on.label("expires_on"), exempt.label("exempt_until"), pair.acknowledged_version)
                .select_from(pair)
                .join(User, User.id == pair.user_id)
                .join(Course, Course.id == pair.course_id)
                .where(User.active.is_(True), Course.active.is_(True), condition, *where))
    return union_all(
        part(pair.expires_on, _exemption_by_facts(pair, on), settled(pair, on)),
        part(latest_completion(on, pair.user_id, pair.course_id, Completion.expires_on, pair),
             _exemption_by_records(pair, on), unsettled))
