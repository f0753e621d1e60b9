"""What the API reads: officers with their status per required module, one page at a time, and the completions
changed since a sync cursor. Scope is training/access.py's, through the token's stand-in viewer."""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import ColumnElement, Select, exists, select, union_all
from sqlalchemy.orm import Session, aliased

from training.access import scope_filter
from training.audit.models import AuditEvent
from training.catalog.models import Course, CourseVersion
from training.people.models import Agency, Unit, User
from training.records.models import Completion
from training.records.status import (
    CourseState,
    course_states,
    officer_course_states,
    pair_facts_query,
    status_expression,
)

# Statuses that keep an officer off duty: a certification that has lapsed, or an assignment past due.
NOT_DEPLOYABLE = ("lapsed", "overdue")


@dataclass(frozen=True)
class Person:
    id: int
    employee_id: str | None
    first_name: str
    last_name: str
    email: str
    agency: str | None
    unit: str | None
    supervisor_employee_id: str | None


# The people listed; their required pairs' facts are read through `User` itself, correlated to them.
PERSON = aliased(User, name="person")


def _people(session: Session, *where: ColumnElement[bool], limit: int | None = None) -> list[Person]:
    """People matching `where` (on PERSON), by id."""
    boss = aliased(User, name="boss")
    stmt = (select(PERSON.id, PERSON.employee_id, PERSON.first_name, PERSON.last_name, PERSON.email, Agency.code,
                   Unit.code, boss.employee_id)
            .outerjoin(Agency, Agency.id == PERSON.agency_id).outerjoin(Unit, Unit.id == PERSON.unit_id)
            .outerjoin(boss, boss.id == PERSON.supervisor_id).where(*where).order_by(PERSON.id))
    return [Person(*row) for row in session.execute(stmt.limit(limit) if limit else stmt)]


def _holds(on: date, course_id: int | None, status: str | None) -> ColumnElement[bool]:
    """SQL condition on User: the person is required the module (any, without `course_id`) and holds it in
    `status` (any) on `on`, from the required pairs' facts (`pair_facts_query`) of that one person, so that
    the people are read in the order of their ids and the reading stops once the page is full."""
    parts = pair_facts_query(on, User.id == PERSON.id).selects
    facts = union_all(*(part.correlate(PERSON) for part in parts)).subquery("facts")
    chosen = [facts.c.course_id == course_id] if course_id is not None else []
    if status is not None:
        chosen.append(status_expression(on, facts.c.expires_on, facts.c.due_on, facts.c.exempt_until) == status)
    return exists(select(facts.c.user_id).where(*chosen))


def officers_page(session: Session, viewer: User, on: date, *, after: int, limit: int,
                  unit_ids: list[int] | None = None, course_id: int | None = None,
                  status: str | None = None) -> tuple[list[Person], dict[int, list[CourseState]], int | None]:
    """One page of the active people in the viewer's scope, by id after `after`, with their states on `on`,
    and the id to continue after (None on the last page).

    Two statements whatever the number of officers: the page's people, read in the order of the keyset on their
    id (with a module or status filter, each checked against their own required pairs' facts) until the page is
    full, then their states in one `course_states` query.
    """
    where = [PERSON.active.is_(True), PERSON.id > after,
             *scope_filter(session, viewer, agency_id=PERSON.agency_id, unit_id=PERSON.unit_id, user_id=PERSON.id)]
    if unit_ids is not None:
        where.append(PERSON.unit_id.in_(unit_ids))
    if course_id is not None or status is not None:
        where.append(_holds(on, course_id, status))
    people = _people(session, *where, limit=limit + 1)
    more = len(people) > limit
    people = people[:limit]
    states: dict[int, list[CourseState]] = defaultdict(list)
    if people:
        for state in course_states(session, on, User.id.in_([p.id for p in people])):
            if course_id is None or state.course_id == course_id:
                states[state.user_id].append(state)
    return people, states, people[-1].id if more else None


def officer(session: Session, employee_id: str) -> User | None:
    return session.scalar(select(User).where(User.employee_id == employee_id, User.active.is_(True)))


def employee_ids(session: Session, user_ids: Select) -> dict[int, str | None]:
    """The employee id of each person selected by `user_ids` (a select of user ids), by their id."""
    return dict(session.execute(select(User.id, User.employee_id).where(User.id.in_(user_ids))).all())


def officer_states(session: Session, user: User, on: date) -> tuple[Person, list[CourseState]]:
    person = _people(session, PERSON.id == user.id)[0]
    return person, officer_course_states(session, on, user.id)


def reasons_not_deployable(states: list[CourseState]) -> list[dict]:
    """Each required module that keeps the officer off duty, and why, in words a scheduler can show."""
    reasons = []
    for state in states:
        if state.status == "lapsed":
            said = f"the certification expired on {state.expires_on.isoformat()}"
        elif state.status == "overdue":
            said = f"it was due on {state.due_on.isoformat()} and is not completed"
        else:
            continue
        reasons.append({"course_code": state.course_code, "status": state.status,
                        "message": f"{state.course_title}: {said}."})
    return reasons


@dataclass(frozen=True)
class Change:
    """A completion as the sync gives it, with the instant of the change given: it was recorded, or revoked."""
    id: int
    employee_id: str | None
    course_code: str
    course_version: int | None
    completed_on: date
    expires_on: date
    score: int | None
    source: str
    revoked_on: date | None
    changed_at: datetime
    status: str


@dataclass(frozen=True)
class Position:
    """Where a sync stands: the last completion recorded, and the last revocation's audit event, given."""
    completion_id: int = 0
    revocation_event_id: int = 0


def _completions(*columns):
    return (select(Completion.id, User.employee_id, Course.code, CourseVersion.number, Completion.completed_on,
                   Completion.expires_on, Completion.score, Completion.source, Completion.revoked_on, *columns)
            .join(User, User.id == Completion.user_id).join(Course, Course.id == Completion.course_id)
            .outerjoin(CourseVersion, CourseVersion.id == Completion.version_id))


def completion_changes(session: Session, viewer: User, on: date, *, since: Position, horizon: datetime,
                       limit: int) -> tuple[list[Change], Position, bool]:
    """At most `limit` changes to completions of people in the viewer's scope after `since`: completions recorded
    (by id, up to the first one stamped at or after `horizon`), then revocations (by their audit event); the
    position after them, and whether more follow.

    Revocations are read from their audit events: the chain's writers are serialised until they commit
    (training/audit/chain.py), so event ids are in commit order and none can appear behind the position. A
    completion's id is given when it is inserted, not when its transaction commits, so recorded completions are
    given only once their stamp (`created_at`) is older than `horizon`: a transaction still writing one commits
    before the position passes its id. Both reads follow an index (the primary key; the action of an event).
    """
    scope = scope_filter(session, viewer)
    recorded = session.execute(_completions(Completion.created_at)
                               .where(Completion.id > since.completion_id, *scope)
                               .order_by(Completion.id).limit(limit + 1)).all()
    settled = []
    for row in recorded:
        if row.created_at >= horizon:
            break
        settled.append(row)
    more = len(settled) > limit
    settled = settled[:limit]
    changes = [Change(*row[:9], row.created_at, _state(on, row.expires_on, row.revoked_on)) for row in settled]
    position = Position(settled[-1].id if settled else since.completion_id, since.revocation_event_id)
    room = limit - len(changes)
    if room > 0:
        completion_id = AuditEvent.details["completion_id"].as_integer()
        revoked = session.execute(_completions(Completion.revoked_at, AuditEvent.id.label("event_id"))
                                  .join(AuditEvent, completion_id == Completion.id)
                                  .where(AuditEvent.action == "completion.revoked",
                                         AuditEvent.id > since.revocation_event_id, *scope)
                                  .order_by(AuditEvent.id).limit(room + 1)).all()
        more = more or len(revoked) > room
        revoked = revoked[:room]
        changes += [Change(*row[:9], row.revoked_at, _state(on, row.expires_on, row.revoked_on)) for row in revoked]
        if revoked:
            position = Position(position.completion_id, revoked[-1].event_id)
    else:
        more = True
    return changes, position, more


def _state(on: date, expires_on: date, revoked_on: date | None) -> str:
    """What the completion certifies on `on`: "valid", "expired" or "revoked"."""
    if revoked_on is not None and revoked_on <= on:
        return "revoked"
    return "valid" if expires_on >= on else "expired"
