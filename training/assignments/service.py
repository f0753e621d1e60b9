"""Creating assignments."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import Select, and_, delete, exists, func, insert, literal, select
from sqlalchemy.orm import Session

from training.access import Forbidden, forbid_own, may_exempt, name_for
from training.assignments.manage import (
    KIND_LABELS,
    Refused,
    check_due,
    check_exemption_days,
    collect,
    manage_assignments,
    require_reason,
)
from training.audit.models import AuditEvent
from training.audit.service import record
from training.catalog.models import Course
from training.clock import of_agencies
from training.db import utcnow
from training.people.models import Agency, Unit, User
from training.people.service import subtree_ids
from training.records.models import (
    Assignment,
    AssignmentChange,
    Completion,
    Exemption,
    RequiredPair,
    StandingRule,
)
from training.records.status import certified_on, exempt_by_facts, exempt_on, settled


def _restriction(agency_ids: Sequence[int | None] | None) -> dict:
    """What an audit event says about whose day a daily pass ran for."""
    return {} if agency_ids is None else {"agency_ids": list(agency_ids)}


def create_renewal_assignments(session: Session, on: date,
                               agency_ids: Sequence[int | None] | None = None) -> dict[str, int]:
    """Open an assignment due on `expires_on` for each certification inside its renewal window.

    Set-based: one INSERT ... SELECT per course, whatever the number of officers.
    A certification whose window opened on a day this did not run is caught up.
    With `agency_ids` (None among them: officers of no agency), only their
    officers, whose day `on` is.
    """
    created: dict[str, int] = {}
    courses = session.execute(select(Course.id, Course.code, Course.renewal_window_days)
                              .where(Course.active.is_(True))).all()
    for course_id, code, window in courses:
        candidates = renewal_candidates(course_id, on, on + timedelta(days=window), agency_ids)
        count = len(session.execute(insert(Assignment).from_select(
            ["user_id", "course_id", "due_on", "reason", "created_at"], candidates)
            .returning(Assignment.id)).all())
        if count:
            created[code] = count
    if created:
        record(session, "assignment.renewals_created", target="courses", on=on.isoformat(), created=created,
               **_restriction(agency_ids))
    return created


def renewal_candidates(course_id: int, on: date, threshold: date,
                       agency_ids: Sequence[int | None] | None = None) -> Select:
    """The renewals of one module to open on `on`: (user_id, course_id, due_on, reason, created_at) of each active
    officer (of `agency_ids`) whose latest valid certification expires by `threshold`, with no open assignment,
    not exempt on `on`."""
    latest_expiry = func.max(Completion.expires_on)
    # Only the pairs with no open assignment (due_on None) whose latest valid completion expires by the
    # threshold, by ix_required_pairs_renewal: that expiry is never later than the latest one, so every
    # officer renewed is among them, and the 19 million completions of a million officers are not read.
    # Those whose settled facts show them exempt are left before their completions are read (the exempt
    # stay candidates every day); the exemptions themselves decide for the rest. The completions' dates are
    # read from ix_completions_latest alone on PostgreSQL.
    return (
        select(Completion.user_id, literal(course_id), latest_expiry, literal("annual_renewal"), literal(utcnow()))
        .select_from(RequiredPair)
        .join(Completion, and_(Completion.user_id == RequiredPair.user_id,
                               Completion.course_id == RequiredPair.course_id))
        .join(User, and_(User.id == RequiredPair.user_id, User.active.is_(True)))
        .where(RequiredPair.course_id == course_id, RequiredPair.due_on.is_(None),
               RequiredPair.expires_on <= threshold, Completion.revoked_on.is_(None),
               and_(settled(RequiredPair, on), exempt_by_facts(RequiredPair, on)).is_not(True),
               ~exempt_on(on, course_id, Completion.user_id),
               *of_agencies(User.agency_id, agency_ids))
        .group_by(Completion.user_id)
        .having(latest_expiry <= threshold)
    )


@dataclass
class AssignResult:
    assigned: list[int] = field(default_factory=list)
    already_certified: list[int] = field(default_factory=list)
    already_assigned: list[int] = field(default_factory=list)
    exempt: list[int] = field(default_factory=list)


def assign_course(session: Session, course: Course, officers: Select, due_on: date, on: date, *,
                  reason: str, actor_id: int | None = None, about: User | Unit | Agency | None = None,
                  allow_far: bool = False, details: dict | None = None) -> AssignResult:
    """Assign `course` to every active officer selected by `officers` (a select of user ids).

    An officer who holds a certification valid on `on`, who already has an
    open assignment for the course, or who is exempt from it on `on`, is
    reported and left alone. A due date before `on`, or more than two years
    after it unless `allow_far`, is refused. `details` are added to the audit event (the API token that asked).
    """
    check_due(due_on, on, allow_far=allow_far)
    targets = officers.subquery()
    rows = session.execute(
        select(User.id,
               certified_on(on, course.id, User.id),
               exists().where(Assignment.user_id == User.id, Assignment.course_id == course.id,
                              Assignment.closed_at.is_(None)),
               exempt_on(on, course.id, User.id))
        .where(User.id.in_(select(targets.c[0])), User.active.is_(True))
        .order_by(User.id)).all()
    result = AssignResult()
    for user_id, certified, assigned, exempt in rows:
        if certified:
            result.already_certified.append(user_id)
        elif exempt:
            result.exempt.append(user_id)
        elif assigned:
            result.already_assigned.append(user_id)
        else:
            result.assigned.append(user_id)
    if result.assigned:
        now = utcnow()
        session.execute(insert(Assignment), [
            {"user_id": u, "course_id": course.id, "due_on": due_on, "reason": reason,
             "assigned_by_id": actor_id, "created_at": now} for u in result.assigned])
    record(session, "assignment.created", actor_id=actor_id, target=f"course:{course.code}", about=about,
           reason=reason, due_on=due_on.isoformat(), assigned=len(result.assigned),
           already_certified=len(result.already_certified), already_assigned=len(result.already_assigned),
           exempt=len(result.exempt), **(details or {}))
    return result


def extend_assignment(session: Session, assignment: Assignment, new_due_on: date, reason: str, *,
                      actor_id: int | None, today: date | None = None, allow_far: bool = False) -> Assignment:
    """Move one open assignment's due date later, with the reason on record; never one's own. With `today`,
    a date before it, or more than two years after it unless `allow_far`, is refused."""
    forbid_own(actor_id, assignment.user_id, "grant an extension")
    reason = require_reason(reason)
    if assignment.closed_at is not None:
        raise Refused("this assignment is already complete")
    if new_due_on <= assignment.due_on:
        raise Refused(f"the new due date must be after the current one ({assignment.due_on.isoformat()})")
    manage_assignments(session, "extend", assignment.course, select(User.id).where(User.id == assignment.user_id),
                       reason=reason, today=today, due_on=new_due_on, actor_id=actor_id,
                       allow_far=allow_far)
    session.refresh(assignment)
    return assignment


def grant_exemption(session: Session, user_id: int, course_id: int, starts_on: date, ends_on: date,
                    reason: str, *, actor_id: int | None, max_days: int | None = None) -> Exemption:
    """Exempt an officer from a course between two dates, with the reason on record.

    Never one's own; one for staff, or longer than `max_days`, only an administrator
    (or the operator at the command line, `actor_id` None) grants.
    """
    forbid_own(actor_id, user_id, "grant an exemption")
    reason = collect(reason=lambda: require_reason(reason),
                     ends_on=lambda: check_exemption_days(starts_on, ends_on))["reason"]
    actor = session.get(User, actor_id) if actor_id is not None else None
    days = (ends_on - starts_on).days + 1
    if not may_exempt(actor, session.get(User, user_id), days, max_days):
        raise Forbidden(f"an exemption of {days} days, or one for a staff member, needs an administrator "
                        f"(coordinators grant up to {max_days} days for officers)")
    exemption = Exemption(user_id=user_id, course_id=course_id, starts_on=starts_on, ends_on=ends_on,
                          reason=reason, granted_by_id=actor_id)
    session.add(exemption)
    session.flush()
    record(session, "exemption.granted", actor_id=actor_id, target=f"user:{user_id}",
           exemption_id=exemption.id, course_id=course_id, reason=reason,
           starts_on=starts_on.isoformat(), ends_on=ends_on.isoformat())
    return exemption


@dataclass
class Grant:
    """An extension or exemption as shown beside an officer's statuses."""
    granted_at: datetime
    kind: str
    course_title: str
    terms: str
    reason: str
    granted_by: str


def grants_for(session: Session, user_id: int, viewer: User | None = None) -> list[Grant]:
    """Every extension and exemption given to an officer, newest first, with reason and grantor.

    Exemptions are rows of their own; an extension lives on as its audit event. Grantors
    outside the viewer's scope are named by role alone.
    """
    titles = dict(session.execute(select(Course.id, Course.title)).all())
    grants = [
        Grant(e.created_at, "Exemption", titles.get(e.course_id, "?"),
              f"exempt {e.starts_on.isoformat()} to {e.ends_on.isoformat()}", e.reason,
              name_for(session, viewer, by))
        for e, by in session.execute(
            select(Exemption, User).outerjoin(User, User.id == Exemption.granted_by_id)
            .where(Exemption.user_id == user_id))]
    grants += [
        Grant(event.at, "Extension", titles.get(event.details.get("course_id"), "?"),
              f"due {event.details.get('previous_due_on')} moved to {event.details.get('due_on')}",
              event.details.get("reason", ""), name_for(session, viewer, by))
        for event, by in session.execute(
            select(AuditEvent, User).outerjoin(User, User.id == AuditEvent.actor_id)
            .where(AuditEvent.action == "assignment.extended", AuditEvent.target == f"user:{user_id}"))]
    return sorted(grants, key=lambda g: g.granted_at, reverse=True)


REASONS = {"individual": "assigned to the officer", "unit": "assigned to a unit", "agency": "assigned to an agency",
           "standing_rule": "a standing rule of the unit", "annual_renewal": "annual renewal", "new_hire": "new hire"}


@dataclass
class HistoryEntry:
    at: datetime
    what: str
    terms: str
    reason: str
    by: str


@dataclass
class AssignmentHistory:
    assignment_id: int
    course_title: str
    state: str                   # open, completed, withdrawn
    due_on: date
    entries: list[HistoryEntry]


def history_for(session: Session, user_id: int, viewer: User | None = None) -> list[AssignmentHistory]:
    """Every assignment of an officer, newest first, each with its story: made (when, why, by whom, due when),
    then each correction, extension or withdrawal, with who, when and why. People outside the viewer's scope
    are named by role alone."""
    titles = dict(session.execute(select(Course.id, Course.title)).all())
    changes: dict[int, list[tuple[AssignmentChange, User | None]]] = {}
    for change, by in session.execute(select(AssignmentChange, User)
                                      .outerjoin(User, User.id == AssignmentChange.actor_id)
                                      .where(AssignmentChange.user_id == user_id)
                                      .order_by(AssignmentChange.at, AssignmentChange.id)):
        changes.setdefault(change.assignment_id, []).append((change, by))
    stories = []
    for assignment, by in session.execute(select(Assignment, User)
                                          .outerjoin(User, User.id == Assignment.assigned_by_id)
                                          .where(Assignment.user_id == user_id)
                                          .order_by(Assignment.created_at.desc(), Assignment.id.desc())):
        mine = changes.get(assignment.id, [])
        first_due = mine[0][0].due_on_before if mine else assignment.due_on
        entries = [HistoryEntry(assignment.created_at, "Assigned", f"due {first_due.isoformat()}",
                                REASONS.get(assignment.reason, assignment.reason),
                                name_for(session, viewer, by) if by else "the system")]
        for change, actor in mine:
            terms = (f"due {change.due_on_before.isoformat()} withdrawn" if change.due_on is None
                     else f"due {change.due_on_before.isoformat()} moved to {change.due_on.isoformat()}")
            entries.append(HistoryEntry(change.at, KIND_LABELS.get(change.kind, change.kind), terms, change.reason,
                                        name_for(session, viewer, actor)))
        if assignment.closed_at is None:
            state = "open"
        elif assignment.completion_id is not None:
            state = "completed"
            entries.append(HistoryEntry(assignment.closed_at, "Completed", "", "", "the officer"))
        else:
            state = "withdrawn"
        stories.append(AssignmentHistory(assignment.id, titles.get(assignment.course_id, "?"), state,
                                         assignment.due_on, entries))
    return stories


def create_standing_rule(session: Session, unit: Unit, course: Course, days_to_complete: int, on: date, *,
                         actor_id: int | None) -> dict[str, int]:
    """Require `course` of everyone in the unit's subtree, and assign it now to those who need it."""
    if session.scalar(select(StandingRule.id).where(StandingRule.unit_id == unit.id,
                                                    StandingRule.course_id == course.id)) is not None:
        raise Refused(f"{unit.code} already has a rule for {course.code}")
    session.add(StandingRule(unit_id=unit.id, course_id=course.id, days_to_complete=days_to_complete,
                             created_by_id=actor_id))
    record(session, "standing_rule.created", actor_id=actor_id, target=f"unit:{unit.code}", about=unit,
           course=course.code,
           days=days_to_complete)
    session.flush()
    return apply_standing_rules(session, on)


def delete_standing_rule(session: Session, rule: StandingRule, *, actor_id: int | None) -> None:
    """Stop requiring a rule's course; the assignments it made stay open."""
    unit = session.get(Unit, rule.unit_id)
    record(session, "standing_rule.deleted", actor_id=actor_id, target=f"unit:{unit.code}", about=unit,
           course_id=rule.course_id)
    session.execute(delete(StandingRule).where(StandingRule.id == rule.id))


def apply_standing_rules(session: Session, on: date,
                         agency_ids: Sequence[int | None] | None = None) -> dict[str, int]:
    """Assign each rule's course to officers in its unit subtree who neither hold it nor have it open.

    One INSERT ... SELECT per rule, however many officers; run daily and after
    roster changes, so an officer who joins or moves into the unit is caught.
    With `agency_ids`, only the rules of those agencies' units, for their officers,
    whose day `on` is.

    A withdrawal stands: once a coordinator withdraws an officer's assignment
    of the course, no rule assigns it to them again while all of these hold:
    the officer is still in the unit they were in when it was withdrawn, the
    rule is older than the withdrawal, and the course has not been assigned to
    them since (by hand, or by an annual renewal). Moving the officer to
    another unit, creating the rule anew, or assigning the course to them
    again ends it; an exemption is the way to excuse someone for a while.
    """
    created: dict[str, int] = {}
    rules = session.execute(
        select(StandingRule.id, StandingRule.course_id, StandingRule.days_to_complete, StandingRule.created_at,
               Unit, Course.code)
        .join(Unit, Unit.id == StandingRule.unit_id).join(Course, Course.id == StandingRule.course_id)
        .where(Course.active.is_(True), *of_agencies(Unit.agency_id, agency_ids))).all()
    for _rule_id, course_id, days, rule_made, unit, course_code in rules:
        certified = certified_on(on, course_id, User.id)
        has_open = exists().where(Assignment.user_id == User.id, Assignment.course_id == course_id,
                                  Assignment.closed_at.is_(None))
        candidates = (
            select(User.id, literal(course_id), literal(on + timedelta(days=days)), literal("standing_rule"),
                   literal(utcnow()))
            .where(User.active.is_(True), User.unit_id.in_(subtree_ids(session, unit)),
                   *of_agencies(User.agency_id, agency_ids), ~certified, ~has_open,
                   ~exempt_on(on, course_id, User.id), ~withdrawal_stands(course_id, rule_made))
        )
        count = len(session.execute(insert(Assignment).from_select(
            ["user_id", "course_id", "due_on", "reason", "created_at"], candidates)
            .returning(Assignment.id)).all())
        if count:
            created[f"{unit.code}:{course_code}"] = count
    if created:
        record(session, "assignment.standing_rules_applied", target="standing_rules", on=on.isoformat(),
               created=created, **_restriction(agency_ids))
    return created


def withdrawal_stands(course_id: int, rule_made: datetime) -> exists:
    """Whether a withdrawal of the course holds off a rule made at `rule_made` for the officer (a User row):
    withdrawn since the rule was made, in the unit the officer is still in, and not assigned again since."""
    assigned_since = exists().where(Assignment.user_id == User.id, Assignment.course_id == course_id,
                                    Assignment.created_at > AssignmentChange.at)
    return exists().where(AssignmentChange.user_id == User.id, AssignmentChange.course_id == course_id,
                          AssignmentChange.kind == "withdrawn", AssignmentChange.unit_id == User.unit_id,
                          AssignmentChange.at >= rule_made, ~assigned_since)


def daily_assignments(session: Session, on: date,
                      agency_ids: Sequence[int | None] | None = None) -> dict[str, dict[str, int]]:
    """The daily assignment pass: annual renewals, then standing rules (for the officers of `agency_ids`)."""
    return {"renewals": create_renewal_assignments(session, on, agency_ids),
            "standing_rules": apply_standing_rules(session, on, agency_ids)}
