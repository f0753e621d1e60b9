"""Recording a completion: the certification it gives and the assignment it closes."""
from __future__ import annotations

from datetime import date

from sqlalchemy import exists, insert, literal, select, update
from sqlalchemy.orm import Session

from training import telemetry
from training.access import forbid_own
from training.audit.service import record
from training.catalog.models import Course, CourseVersion
from training.db import utcnow
from training.people.models import User
from training.records import rules
from training.records.models import Acknowledgement, Assignment, Completion


def latest_completion(session: Session, user_id: int, course_id: int,
                      before: date | None = None) -> Completion | None:
    """The officer's latest completion of the course that still certifies (revoked ones do not)."""
    stmt = select(Completion).where(Completion.user_id == user_id, Completion.course_id == course_id,
                                    Completion.revoked_on.is_(None))
    if before is not None:
        stmt = stmt.where(Completion.completed_on <= before)
    return session.scalar(stmt.order_by(Completion.completed_on.desc(), Completion.id.desc()).limit(1))


def record_completion(session: Session, user: User, course: Course, completed_on: date, *,
                      version_id: int | None, score: int | None, source: str,
                      attempt_id: int | None = None, acknowledged_name: str | None = None,
                      actor_id: int | None = None) -> Completion:
    """Certify an officer for a course and close the open assignment; nobody records their own."""
    forbid_own(actor_id, user.id, "record a completion")
    previous = latest_completion(session, user.id, course.id, before=completed_on)
    expires_on = rules.expiry_date(
        completed_on, course.recurrence_months,
        previous_expires_on=previous.expires_on if previous else None,
        renewal_window_days=course.renewal_window_days,
        renew_from_expiry=course.renew_from_expiry,
        cycle_start_month=course.cycle_start_month, kind=course.kind)
    completion = Completion(
        user_id=user.id, course_id=course.id, version_id=version_id, attempt_id=attempt_id,
        completed_on=completed_on, expires_on=expires_on, score=score, source=source,
        acknowledged_name=acknowledged_name,
        acknowledged_at=utcnow() if acknowledged_name else None)
    session.add(completion)
    session.flush()
    session.execute(
        update(Assignment).where(Assignment.user_id == user.id, Assignment.course_id == course.id,
                                 Assignment.closed_at.is_(None))
        .values(closed_at=utcnow(), completion_id=completion.id)
        .execution_options(synchronize_session=False))
    telemetry.COMPLETIONS.labels(source).inc()
    record(session, "completion.recorded", actor_id=actor_id or user.id, target=f"user:{user.id}",
           course=course.code, completed_on=completed_on.isoformat(),
           expires_on=expires_on.isoformat(), source=source, completion_id=completion.id)
    if acknowledged_name and version_id is not None:
        version = session.get(CourseVersion, version_id)
        document = course.kind == "document"
        # A document's content hash is the SHA-256 of the exact text (or PDF) its reader was shown.
        record_acknowledgement(session, user, version, "document" if document else "module", completed_on,
                               name=acknowledged_name, text_sha256=version.content_hash if document else None,
                               completion_id=completion.id, attempt_id=attempt_id)
    return completion


def record_acknowledgement(session: Session, user: User, version: CourseVersion, kind: str, on: date, *,
                           name: str, text_sha256: str | None = None, completion_id: int | None = None,
                           attempt_id: int | None = None) -> Acknowledgement:
    """Keep an officer's signature for a version (`kind`: "module", "update" or "document") on their day `on`,
    and close their open update assignment of the module: the version they signed covers it."""
    open_update = session.scalar(select(Assignment).where(
        Assignment.user_id == user.id, Assignment.course_id == version.course_id, Assignment.closed_at.is_(None),
        Assignment.version_id.is_not(None)))
    acknowledgement = Acknowledgement(
        user_id=user.id, course_id=version.course_id, version_id=version.id, version_number=version.number,
        kind=kind, name=name, acknowledged_on=on, text_sha256=text_sha256, completion_id=completion_id,
        attempt_id=attempt_id, assignment_id=open_update.id if open_update else None)
    session.add(acknowledgement)
    if open_update is not None:
        open_update.closed_at = utcnow()
    session.flush()
    record(session, "version.acknowledged", actor_id=user.id, target=f"user:{user.id}", about=user,
           course=version.course.code, version=version.number, kind=kind, on=on.isoformat(),
           **({"text_sha256": text_sha256} if text_sha256 else {}))
    return acknowledgement


def acknowledge_signed_completions(session: Session) -> int:
    """An Acknowledgement ("module") for every signed completion written in bulk without one (demo data): the
    version it passed, signed on the day it was completed. How many were added."""
    signed = (select(Completion.user_id, Completion.course_id, Completion.version_id, CourseVersion.number,
                     literal("module"), Completion.acknowledged_name, Completion.acknowledged_at,
                     Completion.completed_on, Completion.id)
              .join(CourseVersion, CourseVersion.id == Completion.version_id)
              .where(Completion.acknowledged_name.is_not(None), Completion.acknowledged_at.is_not(None),
                     ~exists().where(Acknowledgement.completion_id == Completion.id)))
    return len(session.execute(insert(Acknowledgement).from_select(
        ["user_id", "course_id", "version_id", "version_number", "kind", "name", "acknowledged_at",
         "acknowledged_on", "completion_id"], signed).returning(Acknowledgement.id)).all())
