"""Officers ask for more time; their supervisor, or a coordinator in scope, decides.

A request nobody has answered within ESCALATE_AFTER reaches the coordinators of the officer's unit as well
as the supervisor (at once, for an officer without a supervisor).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.orm import Session

from training.access import MANAGERS, Forbidden, extension_queue_filter, forbid_own, may_decide_extension
from training.assignments.manage import Refused, check_due, collect, manage_assignments, require_reason
from training.audit.service import record
from training.catalog.models import Course
from training.db import utcnow
from training.people.models import User
from training.records.models import Assignment, ExtensionRequest

ESCALATE_AFTER = timedelta(days=3)


def request_extension(session: Session, officer: User, assignment: Assignment, reason: str, today: date,
                      asked_due_on: date | None = None) -> ExtensionRequest:
    """An officer's request for more time on their own open assignment; one waiting at a time."""
    if assignment.user_id != officer.id or assignment.closed_at is not None:
        raise Refused("only an open assignment of your own can be extended on request")
    later = (lambda: _later_date(asked_due_on, assignment, today)) if asked_due_on else (lambda: None)
    reason = collect(reason=lambda: require_reason(reason), asked_due_on=later)["reason"]
    waiting = session.scalar(select(ExtensionRequest.id).where(ExtensionRequest.assignment_id == assignment.id,
                                                               ExtensionRequest.status == "pending"))
    if waiting is not None:
        raise Refused("a request for this module is already waiting for a decision")
    request = ExtensionRequest(assignment_id=assignment.id, user_id=officer.id, course_id=assignment.course_id,
                               asked_due_on=asked_due_on, reason=reason, status="pending")
    session.add(request)
    session.flush()
    record(session, "extension.requested", actor_id=officer.id, target=f"user:{officer.id}", about=officer,
           request_id=request.id, assignment_id=assignment.id, course_id=assignment.course_id, reason=reason,
           asked_due_on=asked_due_on.isoformat() if asked_due_on else None)
    return request


def _later_date(asked_due_on: date, assignment: Assignment, today: date) -> None:
    check_due(asked_due_on, today)
    if asked_due_on <= assignment.due_on:
        raise Refused(f"ask for a date after the current due date ({assignment.due_on.isoformat()})")


def decide_extension(session: Session, request: ExtensionRequest, decider: User, *, approve: bool, today: date,
                     due_on: date | None = None, note: str | None = None, allow_far: bool = False) -> None:
    """Approve (with the new due date chosen) or refuse (with a note) a waiting request."""
    officer = session.get(User, request.user_id)
    forbid_own(decider.id, officer.id, "decide a request for more time")
    if not may_decide_extension(session, decider, officer):
        raise Forbidden("only the officer's supervisor or a coordinator in scope decides this request")
    if request.status != "pending":
        raise Refused("this request was already decided")
    note = " ".join((note or "").split()) or None
    assignment = session.get(Assignment, request.assignment_id)
    if approve:
        if due_on is None:
            raise Refused("choose the new due date")
        if assignment.closed_at is not None:
            raise Refused("the assignment is no longer open")
        course = session.get(Course, request.course_id)
        result = manage_assignments(session, "extend", course, select(User.id).where(User.id == officer.id),
                                    reason=f"Request approved: {request.reason}" + (f" ({note})" if note else ""),
                                    today=today, due_on=due_on, actor_id=decider.id, allow_far=allow_far)
        if not result.changed:
            raise Refused(next(iter(result.left_alone)))
    elif note is None or len(note) < 5:
        raise Refused("say in a note why the request is refused; the officer reads it")
    request.status = "approved" if approve else "refused"
    request.decided_by_id, request.decided_at = decider.id, utcnow()
    request.decided_due_on, request.note = (due_on if approve else None), note
    record(session, "extension.decided", actor_id=decider.id, target=f"user:{officer.id}", about=officer,
           request_id=request.id, assignment_id=request.assignment_id, course_id=request.course_id,
           decision=request.status, due_on=due_on.isoformat() if approve else None, note=note)


@dataclass
class Waiting:
    request: ExtensionRequest
    officer: User
    course_title: str
    due_on: date
    days_waiting: int


def queue(session: Session, viewer: User, now: datetime | None = None) -> list[Waiting]:
    """The waiting requests the viewer decides, oldest first: their direct reports' at once; as a coordinator,
    others in scope once nobody has answered them for ESCALATE_AFTER, or at once without a supervisor."""
    now = now or utcnow()
    rows = session.execute(
        select(ExtensionRequest, User, Course.title, Assignment.due_on)
        .join(User, User.id == ExtensionRequest.user_id).join(Course, Course.id == ExtensionRequest.course_id)
        .join(Assignment, Assignment.id == ExtensionRequest.assignment_id)
        .where(*_waiting_for(session, viewer, now))
        .order_by(ExtensionRequest.created_at, ExtensionRequest.id)).all()
    return [Waiting(r, u, title, due, (now - r.created_at).days) for r, u, title, due in rows]


def waiting_count(session: Session, viewer: User, now: datetime | None = None) -> int:
    """How many requests `queue` holds for the viewer, counted in the database."""
    return session.scalar(select(func.count()).select_from(ExtensionRequest)
                          .join(User, User.id == ExtensionRequest.user_id)
                          .where(*_waiting_for(session, viewer, now or utcnow()))) or 0


def _waiting_for(session: Session, viewer: User, now: datetime) -> list[ColumnElement[bool]]:
    """Conditions on ExtensionRequest joined to its officer: the waiting requests the viewer decides."""
    conditions = [extension_queue_filter(session, viewer)]
    if viewer.role in MANAGERS:
        conditions.append(or_(User.supervisor_id == viewer.id, User.supervisor_id.is_(None),
                              ExtensionRequest.created_at <= now - ESCALATE_AFTER))
    return [ExtensionRequest.status == "pending", and_(*conditions)]


def requests_of(session: Session, officer_id: int) -> list[tuple[ExtensionRequest, str]]:
    """An officer's requests and their course titles, newest first: what they asked and what was decided."""
    return list(session.execute(
        select(ExtensionRequest, Course.title).join(Course, Course.id == ExtensionRequest.course_id)
        .where(ExtensionRequest.user_id == officer_id)
        .order_by(ExtensionRequest.created_at.desc(), ExtensionRequest.id.desc())).all())
